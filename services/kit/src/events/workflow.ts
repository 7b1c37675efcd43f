import { z } from 'zod';
import { defineEvent } from '../bus/contract.ts';

/**
 * What the workflow service publishes (docs/workflow.md#events), for the dashboard's live pages: ids and
 * what happened, never field values (a reader fetches what it may see through the API).
 */
const at = z.iso.datetime({ offset: true });

export const postChanged = defineEvent({
  topic: 'workflow.post.changed',
  payload: z.object({
    post_id: z.uuid(),
    change: z.enum(['created', 'updated', 'sections_changed']),
    at,
  }),
  key: (payload) => payload.post_id,
});
export type PostChanged = z.output<typeof postChanged.payload>;

export const revisionWritten = defineEvent({
  topic: 'workflow.revision.written',
  payload: z.object({
    post_id: z.uuid(),
    section_id: z.uuid().nullable(),
    field_key: z.string(),
    revision_id: z.uuid(),
    author: z.object({ kind: z.enum(['account', 'task', 'service']), id: z.string() }),
    /** true when an autosave amended the author's open revision instead of adding one. */
    amended: z.boolean(),
    at,
  }),
  key: (payload) => payload.post_id,
});
export type RevisionWritten = z.output<typeof revisionWritten.payload>;

/** A run's task ended and its result was written back: a suggestion, a revision, or the reason it failed. */
export const runFinished = defineEvent({
  topic: 'workflow.run.finished',
  payload: z.object({
    post_id: z.uuid(),
    section_id: z.uuid().nullable(),
    action_id: z.uuid(),
    action_run_id: z.uuid(),
    task_id: z.uuid(),
    status: z.enum(['suggested', 'applied', 'conflict', 'failed', 'rejected', 'cancelled', 'obsolete']),
    suggestion_id: z.uuid().nullable(),
    at,
  }),
  key: (payload) => payload.post_id,
});
export type RunFinished = z.output<typeof runFinished.payload>;

/** An editor accepted or rejected a suggestion. */
export const suggestionDecided = defineEvent({
  topic: 'workflow.suggestion.decided',
  payload: z.object({
    post_id: z.uuid(),
    suggestion_id: z.uuid(),
    status: z.enum(['accepted', 'rejected']),
    revision_id: z.uuid().nullable(),
    at,
  }),
  key: (payload) => payload.post_id,
});

/** Every event the workflow publishes: on the public event stream for callers with `workflow:read` (events/live.ts). */
export const WORKFLOW_EVENTS = [postChanged, revisionWritten, runFinished, suggestionDecided] as const;
