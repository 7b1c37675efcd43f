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
