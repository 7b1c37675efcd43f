import type { Tone } from '../components/StatusBadge.svelte';

type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'rejected';

const SHOWN: Record<TaskStatus, { label: string; tone: Tone }> = {
  queued: { label: 'Queued', tone: 'neutral' },
  running: { label: 'Running', tone: 'warning' },
  succeeded: { label: 'Succeeded', tone: 'ok' },
  failed: { label: 'Failed', tone: 'danger' },
  cancelled: { label: 'Cancelled', tone: 'neutral' },
  rejected: { label: 'Rejected', tone: 'danger' },
};

/** A task's status as the dashboard shows it: a word, and a tone that only repeats it. */
export function taskStatus(status: TaskStatus): { label: string; tone: Tone } {
  return SHOWN[status];
}

export function isTerminal(status: TaskStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

export function millis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}
