/**
 * A legacy BlogForge database, read (never written): one READ ONLY, REPEATABLE READ transaction, so every
 * table is read at the same instant and the importer cannot change the source even by mistake. The
 * schema changed shape five times (epochs E0 to E4, docs/migration.md): which tables and columns exist is
 * read from information_schema, never assumed from a date.
 */
import { withClient, quoteIdent } from '@llmops/kit/db';

export type Epoch = 'E0' | 'E1' | 'E2' | 'E3' | 'E4';

/** The legacy tables the importer reads, when they exist. */
export const LEGACY_TABLES = [
  'llm_provider',
  'llm_model',
  'llm_config',
  'llm_prompt',
  'llm_prompt_part',
  'llm_action',
  // The editorial workflow (workflow-plan.ts).
  'workflow_stage_entity',
  'workflow_sub_stage_entity',
  'workflow_step_entity',
  'workflow_step_prompt',
  'workflow_field_mapping',
  'substage_action_default',
  'post',
  'post_development',
  'post_section',
  'post_section_elements',
  'post_substage_action',
  'post_workflow_step_action',
  'llm_interaction',
] as const;
export type LegacyTable = (typeof LEGACY_TABLES)[number];

export type Row = Record<string, unknown>;

export interface LegacySnapshot {
  /** The legacy database's name: the source its imported rows are recorded under. */
  source: string;
  epoch: Epoch;
  /** Every table of the public schema with its columns (what the report shows). */
  columns: Map<string, Set<string>>;
  rows: Record<LegacyTable, Row[]>;
}

/** The epoch of a shape, from the markers of docs/migration.md (the reference's §8). */
export function epochOf(columns: ReadonlyMap<string, ReadonlySet<string>>): Epoch {
  if (columns.get('llm_prompt')?.has('step_id')) return 'E4';
  if (
    columns.has('workflow_step_prompt') ||
    columns.has('post_workflow_step_action') ||
    columns.get('workflow_step_entity')?.has('config')
  )
    return 'E3';
  if (columns.has('llm_provider')) return 'E2';
  if (columns.has('llm_prompt_part') || columns.has('llm_action_prompt_part')) return 'E1';
  return 'E0';
}

/** Reads the source at one instant, read only; `source` names it (default: the database's own name). */
export async function readLegacy(url: string, source?: string): Promise<LegacySnapshot> {
  return withClient(url, async (client) => {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const { rows: found } = await client.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      );
      const columns = new Map<string, Set<string>>();
      for (const { table_name, column_name } of found) {
        const set = columns.get(table_name) ?? new Set<string>();
        set.add(column_name);
        columns.set(table_name, set);
      }
      const rows = {} as Record<LegacyTable, Row[]>;
      for (const table of LEGACY_TABLES) {
        // The names come from the fixed list above, never from the source or the user.
        rows[table] = columns.has(table)
          ? (await client.query<Row>(`SELECT * FROM public.${quoteIdent(table)} ORDER BY id`)).rows
          : [];
      }
      const { rows: named } = await client.query<{ name: string }>('SELECT current_database() AS name');
      return { source: source ?? named[0]?.name ?? 'legacy', epoch: epochOf(columns), columns, rows };
    } finally {
      await client.query('ROLLBACK');
    }
  });
}
