/**
 * The workflow part of an import can be larger than one request body may be (1 MiB): posts carry whole
 * drafts. It goes in batches of posts, each one transaction of the workflow service (so an interrupted
 * import resumes from the posts it recorded). Every batch carries the stages, substages, fields and actions
 * again, so a dry run, which keeps nothing between requests, checks each batch exactly as `--apply` does; a
 * post's choices go with it. A single post larger than a batch goes in parts, its values and sections spread
 * over several requests: part 1 makes the post, each later part adds what it carries (docs/migration.md).
 * Each row is answered by the first batch that names it: later ones find it made (or, in a dry run, make it
 * again and roll back), so the answers are the same either way.
 */
import type { z } from 'zod';
import type { LegacyWorkflowImportResultSchema, LegacyWorkflowImportSchema } from '@llmops/kit/contracts/workflow-legacy-import';

type Request = z.input<typeof LegacyWorkflowImportSchema>;
type Answer = z.output<typeof LegacyWorkflowImportResultSchema>;
type Post = NonNullable<Request['posts']>[number];
type Section = NonNullable<Post['sections']>[number];
type Value = NonNullable<Post['values']>[number];
type Refused = Answer['refused'][number];

/** Below the services' 1 MiB body limit, with room for the JSON around the posts. */
export const BATCH_BYTES = 900_000;

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value)) + 1;

/**
 * A post as parts that each fit in `room` bytes: its head (title, slug…) in each, its values and then each
 * section's values in order, a section named again in every part that carries some of its values. A value
 * that cannot fit even alone is left out and refused with the reason.
 */
export function partsOf(post: Post, room: number, refused: Refused[]): Post[] {
  if (bytes(post) <= room) return [post];
  const head: Post = { ...post, values: [], sections: [] };
  const headBytes = bytes({ ...head, part: 10_000 });
  const parts: Post[] = [];
  let part: Post = { ...head, part: 1, values: [], sections: [] };
  let size = headBytes;
  // The section the values go to in this part; a new part names it again.
  let current: Section | null = null;
  const close = () => {
    parts.push(part);
    part = { ...head, part: parts.length + 1, values: [], sections: [] };
    size = headBytes;
    current = null;
  };
  const fits = (extra: number) => size + extra <= room;
  const tooLarge = (value: Value, row: string, extra: number) => {
    if (headBytes + extra <= room) return false;
    refused.push({
      kind: 'value',
      legacy_id: `${row} ${value.field}`,
      reason: `${row}, field ${value.field}: ${bytes(value.value)} bytes as JSON, more than one request to the workflow service may carry (${room} with the post's other data): not imported; copy it by hand`,
    });
    return true;
  };
  for (const value of post.values ?? []) {
    const extra = bytes(value);
    if (tooLarge(value, `post ${post.legacy_id}`, extra)) continue;
    if (!fits(extra)) close();
    part.values?.push(value);
    size += extra;
  }
  for (const [index, section] of (post.sections ?? []).entries()) {
    const shell: Section = { legacy_id: section.legacy_id, position: section.position ?? index + 1, values: [] };
    const shellBytes = bytes(shell);
    const open = (extra: number) => {
      if (!fits(shellBytes + extra)) close();
      current = { ...shell, values: [] };
      part.sections?.push(current);
      size += shellBytes;
      return current;
    };
    let into: Section | null = null;
    for (const value of section.values ?? []) {
      const extra = bytes(value);
      if (tooLarge(value, `post_section ${section.legacy_id}`, shellBytes + extra)) continue;
      into = into !== null && into === current && fits(extra) ? into : open(extra);
      into.values?.push(value);
      size += extra;
    }
    if (into === null) open(0);
  }
  parts.push(part);
  return parts;
}

/** The batches to send, and the values too large to send at all. */
export function batchesOf(request: Request, maxBytes = BATCH_BYTES): { batches: Request[]; refused: Refused[] } {
  const base = { ...request, posts: [], choices: [] };
  const room = Math.max(maxBytes - bytes(base), 1);
  const refused: Refused[] = [];
  const choicesOf = new Map<string, NonNullable<Request['choices']>>();
  for (const choice of request.choices ?? [])
    choicesOf.set(choice.post_legacy_id, [...(choicesOf.get(choice.post_legacy_id) ?? []), choice]);
  const batches: Request[] = [];
  let posts: Post[] = [];
  let choices: NonNullable<Request['choices']> = [];
  let size = 0;
  const flush = () => {
    if (posts.length > 0 || choices.length > 0) batches.push({ ...base, posts, choices });
    posts = [];
    choices = [];
    size = 0;
  };
  for (const post of request.posts ?? []) {
    const own = choicesOf.get(post.legacy_id) ?? [];
    choicesOf.delete(post.legacy_id);
    const ownBytes = own.reduce((sum, choice) => sum + bytes(choice), 0);
    const parts = partsOf(post, Math.max(room - ownBytes, 1), refused);
    for (const [index, part] of parts.entries()) {
      const last = index === parts.length - 1;
      const partBytes = bytes(part) + (last ? ownBytes : 0);
      if (posts.length > 0 && size + partBytes > room) flush();
      posts.push(part);
      if (last) choices.push(...own);
      size += partBytes;
    }
  }
  // Choices of posts not in this request (made by an earlier import, or refused) go last.
  choices.push(...[...choicesOf.values()].flat());
  flush();
  if (batches.length === 0) batches.push({ ...base, posts: [], choices: [] });
  return { batches, refused };
}

/** Sends every batch in order; each row is answered as the first batch that names it answered it. */
export async function sendInBatches(
  request: Request,
  send: (batch: Request) => Promise<Answer>,
  { maxBytes = BATCH_BYTES, done }: { maxBytes?: number; done?: (sent: number, total: number) => void } = {},
): Promise<Answer> {
  const { batches, refused } = batchesOf(request, maxBytes);
  const merged: Answer = { items: [], refused };
  const seen = new Set<string>();
  const first = (kind: string, legacyId: string) => {
    const key = `${kind}:${legacyId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  for (const [index, batch] of batches.entries()) {
    const answer = await send(batch);
    merged.items.push(...answer.items.filter((item) => first(item.kind, item.legacy_id)));
    merged.refused.push(...answer.refused.filter((row) => first(row.kind, row.legacy_id)));
    done?.(index + 1, batches.length);
  }
  return merged;
}
