/**
 * The workflow part of an import can be larger than one request body may be (1 MiB): posts carry whole
 * drafts. It goes in batches of posts, each one transaction of the workflow service (so an interrupted
 * import resumes from the posts it recorded). Every batch carries the substages, fields and actions again,
 * so a dry run, which keeps nothing between requests, checks each batch exactly as `--apply` does; their
 * answers are taken from the first batch only, where they were made (later ones find them made). The
 * per-post choices go with the last batch.
 */
import type { z } from 'zod';
import type { LegacyWorkflowImportResultSchema, LegacyWorkflowImportSchema } from '@llmops/kit/contracts/workflow-legacy-import';

type Request = z.input<typeof LegacyWorkflowImportSchema>;
type Answer = z.output<typeof LegacyWorkflowImportResultSchema>;

/** Below the services' 1 MiB body limit, with room for the JSON around the posts. */
export const BATCH_BYTES = 900_000;
const SHARED = new Set(['substage', 'field', 'action']);

export function batchesOf(request: Request, maxBytes = BATCH_BYTES): Request[] {
  const base = { ...request, posts: [], choices: [] };
  const room = Math.max(maxBytes - Buffer.byteLength(JSON.stringify(base)), 1);
  const batches: Request[] = [];
  let posts: NonNullable<Request['posts']> = [];
  let size = 0;
  for (const post of request.posts ?? []) {
    const bytes = Buffer.byteLength(JSON.stringify(post)) + 1;
    if (posts.length > 0 && size + bytes > room) {
      batches.push({ ...base, posts });
      posts = [];
      size = 0;
    }
    posts.push(post);
    size += bytes;
  }
  batches.push({ ...base, posts, choices: request.choices ?? [] });
  return batches;
}

export async function sendInBatches(request: Request, send: (batch: Request) => Promise<Answer>): Promise<Answer> {
  const merged: Answer = { items: [], refused: [] };
  for (const [index, batch] of batchesOf(request).entries()) {
    const answer = await send(batch);
    merged.items.push(...answer.items.filter((item) => index === 0 || !SHARED.has(item.kind)));
    merged.refused.push(...answer.refused.filter((row) => index === 0 || !SHARED.has(row.kind)));
  }
  return merged;
}
