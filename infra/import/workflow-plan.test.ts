import { describe, expect, it } from 'vitest';
import { LEGACY_TABLES, type LegacySnapshot, type Row } from './legacy-source.ts';
import { planWorkflow } from './workflow-plan.ts';

function snapshot(rows: Partial<Record<(typeof LEGACY_TABLES)[number], Row[]>>): LegacySnapshot {
  const all = Object.fromEntries(LEGACY_TABLES.map((table) => [table, rows[table] ?? []])) as LegacySnapshot['rows'];
  const columns = new Map<string, Set<string>>();
  for (const [table, list] of Object.entries(rows)) columns.set(table, new Set(list.flatMap((row) => Object.keys(row))));
  return { source: 'blog', epoch: 'E4', columns, rows: all };
}
const none = { models: new Map(), presets: new Map(), templates: new Map() };

describe('the workflow plan of a legacy database', () => {
  it('maps renamed stages and substages by name, and sends the stages in their legacy order', () => {
    const plan = planWorkflow(
      snapshot({
        workflow_stage_entity: [
          { id: 8, name: 'publishing', stage_order: 3 },
          { id: 54, name: 'writing', stage_order: 2 },
          { id: 60, name: 'Peer Review', stage_order: 2 },
          { id: 61, name: '!!', stage_order: 9 },
        ],
        workflow_sub_stage_entity: [
          { id: 19, stage_id: 54, name: 'Sections' },
          { id: 21, stage_id: 54, name: 'post_info' },
          { id: 30, stage_id: 54, name: 'Fact check', description: 'Checking' },
        ],
      }),
      none,
    );
    expect(plan.request.substages).toEqual([
      expect.objectContaining({ legacy_id: '19', key: 'content', stage_key: 'authoring' }),
      expect.objectContaining({ legacy_id: '21', key: 'meta_info', stage_key: 'authoring' }),
      { legacy_id: '30', key: 'fact_check', label: 'Fact Check', stage_key: 'authoring', description: 'Checking' },
    ]);
    // The workflow service creates a stage it lacks after the one before it here (stage_order, then id).
    expect(plan.request.stages).toEqual([
      { legacy_id: '54', key: 'authoring', label: 'Writing' },
      { legacy_id: '60', key: 'peer_review', label: 'Peer Review' },
      { legacy_id: '8', key: 'publishing', label: 'Publishing' },
    ]);
    expect(plan.skipped).toEqual([
      expect.objectContaining({
        kind: 'stage',
        table: 'workflow_stage_entity',
        legacy_id: '61',
        reason: expect.stringMatching(/no stage key/),
      }),
    ]);
  });

  it('makes fields of the columns posts use, leaves out times, keys and image files, and keys a section column apart from a post column', () => {
    const plan = planWorkflow(
      snapshot({
        post: [
          { id: 1, title: 'Tartan', slug: 'tartan', status: 'draft' },
          { id: 2, title: 'Gone', slug: 'gone', status: 'deleted' },
        ],
        post_development: [
          {
            id: 1,
            post_id: 1,
            basic_idea: 'An idea',
            image_captions: 'a',
            structure_design_at: new Date(0),
            section_structure: { a: 1 },
          },
          { id: 2, post_id: 2, basic_idea: 'gone' },
        ],
        post_section: [
          { id: 5, post_id: 1, section_order: 1, section_heading: 'One', image_captions: 'b', image_filename: 'x.png' },
        ],
      }),
      none,
    );
    expect(plan.request.fields.map((f) => [f.key, f.scope, f.kind])).toEqual([
      ['basic_idea', 'post', 'markdown'],
      ['image_captions', 'post', 'markdown'],
      ['section_structure', 'post', 'json'],
      ['section_heading', 'section', 'markdown'],
      ['section_image_captions', 'section', 'markdown'],
    ]);
    expect(plan.request.posts.map((p) => p.legacy_id)).toEqual(['1']);
    expect(plan.request.posts[0]?.sections).toEqual([
      {
        legacy_id: '5',
        position: 1,
        values: [
          { field: 'section_heading', value: 'One' },
          { field: 'section_image_captions', value: 'b' },
        ],
      },
    ]);
    expect(plan.skipped).toEqual([
      { kind: 'post', table: 'post', legacy_id: '2', reason: 'soft-deleted in the legacy app (status "deleted")' },
      { kind: 'value', table: 'post_development', legacy_id: '2', reason: 'belongs to post 2, which is soft-deleted' },
    ]);
  });
});
