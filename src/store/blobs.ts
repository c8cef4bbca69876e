import { createHash } from 'node:crypto';
import { AppError } from '../common/errors.ts';
import { isPlainObject, type JsonObject } from '../common/json.ts';
import type { NodeCompleted, RunEvent } from '../events/types.ts';
import type { Store, StoredBlob } from './types.ts';

/**
 * Large state updates, stored once apart from their NodeCompleted event. The event keeps
 * `stateUpdateRef` where `stateUpdate` was (same key position, so a stored event and a live one
 * serialize alike) and its `bytes`; readers that want the update load it by that ref.
 */

/** Default threshold of EventLogOptions.largePayloadBytes: 256 KiB. */
export const DEFAULT_LARGE_PAYLOAD_BYTES = 262_144;

/** A copy of the event with its update (`update`, its stateUpdate) replaced by a ref, and the blob that holds the update. */
export function storeApart(event: NodeCompleted, update: JsonObject): { event: NodeCompleted; blob: StoredBlob } {
  const json = JSON.stringify(update);
  const ref = `sha256:${createHash('sha256').update(json).digest('hex')}`;
  const apart: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'stateUpdate') apart['stateUpdateRef'] = ref;
    else apart[key] = value;
  }
  return { event: apart as unknown as NodeCompleted, blob: { runId: event.runId, ref, json } };
}

/**
 * The update of a NodeCompleted event: inline, or loaded from the store. Throws AppError
 * RUN_NOT_FOUND when the run has been deleted meanwhile (retention), INTERNAL when the run is
 * there but the update is not.
 */
export async function loadStateUpdate(store: Store, event: NodeCompleted): Promise<JsonObject> {
  if (event.stateUpdate !== undefined) return event.stateUpdate;
  const ref = event.stateUpdateRef ?? '';
  const value = await store.readBlob(event.runId, ref);
  if (isPlainObject(value)) return value;
  if (!(await store.getRun(event.runId))) throw new AppError('RUN_NOT_FOUND', `run ${event.runId} no longer exists; its state updates went with it`, { runId: event.runId });
  throw new AppError('INTERNAL', `the state update ${ref} of run ${event.runId} event ${event.seq} is not stored`);
}

/** The events with every state update inline (copies of the events that had a ref), in order. */
export async function withStateUpdates(store: Store, events: readonly RunEvent[]): Promise<RunEvent[]> {
  const whole: RunEvent[] = [];
  for (const event of events) {
    if (event.type !== 'NodeCompleted' || event.stateUpdate !== undefined) {
      whole.push(event);
      continue;
    }
    const update = await loadStateUpdate(store, event);
    const inline: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(event)) {
      if (key === 'stateUpdateRef') inline['stateUpdate'] = update;
      else inline[key] = value;
    }
    whole.push(inline as unknown as RunEvent);
  }
  return whole;
}
