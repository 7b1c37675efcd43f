import type { Queryable } from '@llmops/kit/db';

export type LegacyKind = 'stage' | 'field' | 'substage' | 'action' | 'post' | 'section' | 'choice';

/** One import at a time per source: a second one waits, then finds what the first recorded. */
export async function lockSource(tx: Queryable, source: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('workflow.legacy_ids'), hashtext($1))`, [source]);
}

/** What earlier imports of `source` made: `kind:legacy_id` → workflow id. */
export async function ofSource(tx: Queryable, source: string): Promise<Map<string, string>> {
  const { rows } = await tx.query<{ kind: LegacyKind; legacy_id: string; id: string }>(
    'SELECT kind, legacy_id, id FROM workflow.legacy_ids WHERE source = $1',
    [source],
  );
  return new Map(rows.map((row) => [`${row.kind}:${row.legacy_id}`, row.id]));
}

export async function record(tx: Queryable, source: string, kind: LegacyKind, legacyId: string, id: string): Promise<void> {
  await tx.query('INSERT INTO workflow.legacy_ids (source, kind, legacy_id, id) VALUES ($1, $2, $3, $4)', [
    source,
    kind,
    legacyId,
    id,
  ]);
}
