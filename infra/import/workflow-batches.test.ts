import { describe, expect, it } from 'vitest';
import { batchesOf, sendInBatches } from './workflow-batches.ts';

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
const choice = { legacy_id: 'c1', post_legacy_id: '1', action_legacy_id: 'a1', inputs: null, target_field: null };

describe('workflow import batches', () => {
  it('splits the posts under the byte budget, repeats fields in each batch and sends the choices last', () => {
    const request = { source: 's', fields: [field], posts: [post('1', 400), post('2', 400), post('3', 400)], choices: [choice] };
    const batches = batchesOf(request, 1500);
    expect(batches.map((b) => (b.posts ?? []).map((p) => p.legacy_id))).toEqual([['1', '2'], ['3']]);
    expect(batches.every((b) => b.fields?.length === 1)).toBe(true);
    expect(batches.map((b) => b.choices?.length)).toEqual([0, 1]);
    // A post larger than the budget still goes, alone (the service then says it is too large).
    expect(batchesOf({ source: 's', posts: [post('1', 5000)] }, 1200)).toHaveLength(1);
  });

  it('takes what every batch repeats from the first answer only', async () => {
    const request = { source: 's', fields: [field], posts: [post('1', 400), post('2', 400)] };
    let n = 0;
    const merged = await sendInBatches(request, async () => ({
      items: [
        {
          kind: 'field' as const,
          legacy_id: field.legacy_id,
          id: '0190a0a0-0000-7000-8000-000000000000',
          name: 'draft',
          created: n === 0,
        },
        { kind: 'post' as const, legacy_id: String(++n), id: '0190a0a0-0000-7000-8000-000000000001', name: 'p', created: true },
      ],
      refused: [],
    }));
    expect(merged.items.map((item) => `${item.kind}:${item.legacy_id}`)).toEqual(['field:post_development.draft', 'post:1']);
  });
});
