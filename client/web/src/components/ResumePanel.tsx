import { useMemo, useState, type FormEvent } from 'react';
import { flowcast } from '../api.ts';
import type { PausePicture } from '../model/fold.ts';
import { parseJsonObject, parseJsonValue } from '../model/json.ts';
import { JsonView } from './JsonView.tsx';

/** A paused run: where and why, and a form to let it go on with an optional state edit (and a resume value for interrupts). */
export function ResumePanel({ runId, pause }: { runId: string; pause: PausePicture }) {
  const [edit, setEdit] = useState('');
  const [resumeText, setResumeText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const parsedEdit = useMemo(() => parseJsonObject(edit), [edit]);
  const parsedResume = useMemo(() => parseJsonValue(resumeText), [resumeText]);
  const interrupted = pause.interrupts.length > 0;
  const valid = parsedEdit.ok && parsedResume.ok;

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (!parsedEdit.ok || !parsedResume.ok) return;
    setBusy(true);
    setError(null);
    const stateUpdate = Object.keys(parsedEdit.value).length > 0 ? parsedEdit.value : undefined;
    flowcast
      .resumeRun(runId, { ...(stateUpdate ? { stateUpdate } : {}), ...(parsedResume.value !== undefined ? { resume: parsedResume.value } : {}) })
      .then(() => {
        setEdit('');
        setResumeText('');
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setBusy(false));
  };

  return (
    <form className="resume-panel" onSubmit={submit} aria-label="Resume the paused run" data-pause-cause={pause.cause.toLowerCase()}>
      <div className="resume-head">
        <strong>Paused</strong> <span>{pause.reason}</span>
      </div>
      {interrupted && (
        <div className="interrupts">
          {pause.interrupts.map((interrupt) => (
            <div key={interrupt.nodeId} className="interrupt">
              <code>{interrupt.nodeId}</code> asks:
              <JsonView value={interrupt.payload} openDepth={2} />
            </div>
          ))}
        </div>
      )}
      <div className="resume-fields">
        <label className="field">
          <span>State edit (JSON object, optional; goes through the reducers)</span>
          <textarea name="state-edit" rows={3} spellCheck={false} value={edit} placeholder='{"approved": true}' onChange={(e) => setEdit(e.target.value)} aria-invalid={!parsedEdit.ok} />
          {!parsedEdit.ok && (
            <span className="error-text" role="alert" data-error="state-edit">
              {parsedEdit.message}
            </span>
          )}
        </label>
        {interrupted && (
          <label className="field">
            <span>Resume value (any JSON; what the interrupted node gets)</span>
            <textarea name="resume-value" rows={3} spellCheck={false} value={resumeText} placeholder='{"ok": true}' onChange={(e) => setResumeText(e.target.value)} aria-invalid={!parsedResume.ok} />
            {!parsedResume.ok && (
              <span className="error-text" role="alert" data-error="resume-value">
                {parsedResume.message}
              </span>
            )}
          </label>
        )}
      </div>
      {error && (
        <p className="error-text" role="alert" data-error="resume">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={!valid || busy}>
          {busy ? 'Resuming…' : 'Resume run'}
        </button>
      </div>
    </form>
  );
}
