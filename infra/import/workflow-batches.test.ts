import { describe, expect, it } from 'vitest';
import { batchesOf, partsOf, sendInBatches } from './workflow-batches.ts';

const post = (id: string, chars: number) => ({
  legacy_id: id,
  title: `Post ${id}`,
  slug: `post-${id}`,
  status: 'draft' as const,
  substage_key: null,
  values: [{ field: 'draft', value: 'x'.repeat(chars) }],
});
const field = {
  legacy_id: 'post_development.draft',
  key: 'draft',
  label: 'Draft',
  kind: 'markdown' as const,
  scope: 'post' as const,
  substage_key: 'idea',
};
const choice = (postId: string) => ({
  legacy_id: `c${postId}`,
  post_legacy_id: postId,
  action_legacy_id: 'a1',
  inputs: null,
  target_field: null,
});
const ids = (batches: { posts?: { legacy_id: string; part?: number }[] }[]) =>
  batches.map((b) => (b.posts ?? []).map((p) => `${p.legacy_id}${p.part ? `#${p.part}` : ''}`));

describe('workflow import batches', () => {
  it('splits the posts under the byte budget, repeats fields in each batch and sends each post’s choices with it', () => {
    const request = {
      source: 's',
      fields: [field],
      posts: [post('1', 400), post('2', 400), post('3', 400)],
      choices: [choice('3'), choice('1'), choice('9')],
    };
    const { batches, refused } = batchesOf(request, 1700);
    expect(ids(batches)).toEqual([['1', '2'], ['3']]);
    expect(batches.every((b) => b.fields?.length === 1)).toBe(true);
    // A post's choices go with it (one transaction: the dry run finds the post); others' go last.
    expect(batches.map((b) => (b.choices ?? []).map((c) => c.legacy_id))).toEqual([['c1'], ['c3', 'c9']]);
    expect(refused).toEqual([]);
  });

  it('sends a post larger than a batch in parts, a section named again in each part that carries its values', () => {
    const big = {
      ...post('7', 500),
      values: [
        { field: 'a', value: 'a'.repeat(500) },
        { field: 'b', value: 'b'.repeat(500) },
        { field: 'huge', value: 'h'.repeat(5000) },
      ],
      sections: [
        {
          legacy_id: '70',
          values: [
            { field: 'c', value: 'c'.repeat(500) },
            { field: 'd', value: 'd'.repeat(500) },
          ],
        },
      ],
    };
    const refused: Parameters<typeof partsOf>[2] = [];
    const parts = partsOf(big, 1100, refused);
    expect(parts.map((p) => [p.part, p.values?.map((v) => v.field), p.sections?.map((s) => [s.legacy_id, s.position])])).toEqual([
      [1, ['a'], []],
      [2, ['b'], []],
      [3, [], [['70', 1]]],
      [4, [], [['70', 1]]],
    ]);
    expect(parts.flatMap((p) => p.sections ?? []).flatMap((s) => s.values?.map((v) => v.field))).toEqual(['c', 'd']);
    expect(parts.every((p) => p.title === 'Post 7' && p.slug === 'post-7')).toBe(true);
    for (const p of parts) expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(1100);
    // A value that cannot fit even alone is not sent: it is refused with its size.
    expect(refused).toEqual([
      {
        kind: 'value',
        legacy_id: 'post 7 huge',
        reason: expect.stringMatching(/^post 7, field huge: 5003 bytes as JSON, more than/),
      },
    ]);
    const { batches } = batchesOf({ source: 's', posts: [post('1', 100), big], choices: [choice('7')] }, 1500);
    expect(ids(batches)).toEqual([['1', '7#1'], ['7#2']]);
    expect(batches.map((b) => b.choices?.length)).toEqual([0, 1]);
  });

  it('answers each row as the first batch that names it did (a dry run makes a post again in each of its parts)', async () => {
    const big = { ...post('7', 600), values: [0, 1, 2].map((i) => ({ field: `f${i}`, value: 'v'.repeat(600) })) };
    const request = { source: 's', fields: [field], posts: [big] };
    const merged = await sendInBatches(
      request,
      async (batch) => ({
        items: [
          {
            kind: 'field' as const,
            legacy_id: field.legacy_id,
            id: '0190a0a0-0000-7000-8000-000000000000',
            name: 'draft',
            created: true,
          },
          { kind: 'post' as const, legacy_id: '7', id: '0190a0a0-0000-7000-8000-000000000001', name: 'p', created: true },
          ...(batch.posts?.[0]?.values ?? []).map((value) => ({
            kind: 'value' as const,
            legacy_id: `post 7 ${value.field}`,
            id: '0190a0a0-0000-7000-8000-000000000002',
            name: value.field,
            created: true,
          })),
        ],
        refused: [],
      }),
      { maxBytes: 1500 },
    );
    expect(merged.items.map((item) => `${item.kind}:${item.legacy_id}`)).toEqual([
      'field:post_development.draft',
      'post:7',
      'value:post 7 f0',
      'value:post 7 f1',
      'value:post 7 f2',
    ]);
  });
});
