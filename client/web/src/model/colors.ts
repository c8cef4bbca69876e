import type { RunStatus } from '../../../sdk/index.ts';
import type { AttemptStatus, NodeStatus } from './fold.ts';

/** The canvas colours (the same as runVisualUpdates sends). INTERRUPTED: waiting for a person. */
export const NODE_COLORS: Readonly<Record<NodeStatus, string>> = {
  pending: '#9ca3af',
  running: '#3b82f6',
  succeeded: '#10b981',
  failed: '#ef4444',
  skipped: '#f59e0b',
  interrupted: '#a855f7',
};

/** PAUSED waits for a person like an interrupted node; CANCELLED is neither success nor failure. */
export const RUN_COLORS: Readonly<Record<RunStatus, string>> = {
  QUEUED: '#9ca3af',
  RUNNING: '#3b82f6',
  PAUSED: '#a855f7',
  COMPLETED: '#10b981',
  FAILED: '#ef4444',
  CANCELLED: '#64748b',
};

export const ATTEMPT_COLORS: Readonly<Record<AttemptStatus, string>> = {
  running: '#3b82f6',
  succeeded: '#10b981',
  failed: '#ef4444',
  retrying: '#f97316',
  interrupted: '#a855f7',
  cancelled: '#64748b',
  abandoned: '#cbd5e1',
};
