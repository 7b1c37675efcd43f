import type { z } from 'zod';
import { withTransaction, type PoolClient } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import type { Audit } from '@llmops/kit/http/audit';
import type { Identity } from '@llmops/kit/http/identity';
import { Forbidden, Unprocessable } from '@llmops/kit/problem';
import { publish } from '@llmops/kit/bus/index';
import { partPublished } from '@llmops/kit/events/prompt';
import {
  importLegacyPrompts,
  type LegacyPromptImportResultSchema,
  type LegacyPromptImportSchema,
} from '@llmops/kit/contracts/prompt/legacy-import';
import { convertLegacyPart } from '../legacy/convert.ts';
import { importTemplates } from './legacy-templates.ts';
import * as parts from '../db/parts.ts';
import { discover } from '../routes/parts.ts';
import { iso, type RouteDeps } from '../routes/common.ts';

type Answer = z.output<typeof LegacyPromptImportResultSchema>;
const AUTHOR = 'service:importer';

/** Only the legacy importer (the operator CLI's `import legacy`) comes this way. */
function onlyImporter(identity: Identity): void {
  if (identity.kind !== 'service' || identity.subject !== 'importer')
    throw new Forbidden('Only the legacy importer (`npm run llmops -- import legacy`) may import legacy rows.');
}

class DryRunDone extends Error {
  readonly answer: Answer;
  constructor(answer: Answer) {
    super('dry run');
    this.answer = answer;
  }
}

/**
 * The legacy importer's route (docs/migration.md): each `llm_prompt_part` row converted by the service's
 * own legacy converter (docs/legacy-converter.md), created and published as version 1 by the importer, then
 * each legacy prompt as a template (version 1, label `legacy`; legacy-templates.ts), in one transaction. A dry run does all of it and rolls back. `prompt.legacy_ids` makes a second import
 * create nothing.
 */
export function mountLegacyImport(app: ServiceApp, deps: RouteDeps): void {
  app.openapi(importLegacyPrompts, async (c) => {
    onlyImporter(c.get('identity'));
    const input = c.req.valid('json');
    const answer = await withTransaction(deps.pool, async (tx) => {
      const out = await importParts(deps, tx, input, c.var.audit);
      await importTemplates(deps, tx, input.source, input.templates, c.var.audit, out);
      if (input.dry_run) throw new DryRunDone(out);
      return out;
    }).catch((error: unknown) => {
      if (error instanceof DryRunDone) return error.answer;
      throw error;
    });
    return c.json(answer, 200);
  });
}

async function importParts(
  deps: RouteDeps,
  tx: PoolClient,
  input: z.output<typeof LegacyPromptImportSchema>,
  audit: Audit,
): Promise<Answer> {
  const { source } = input;
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('prompt.legacy_ids'), hashtext($1))`, [source]);
  const { rows: earlier } = await tx.query<{ legacy_id: string; id: string }>(
    `SELECT legacy_id, id FROM prompt.legacy_ids WHERE source = $1 AND kind = 'part'`,
    [source],
  );
  const known = new Map(earlier.map((row) => [row.legacy_id, row.id]));
  const { rows: names } = await tx.query<{ name: string }>(
    'SELECT lower(name) AS name FROM prompt.parts WHERE deleted_at IS NULL',
  );
  const taken = new Set(names.map((row) => row.name));
  const answer: Answer = { items: [], refused: [], warnings: [] };
  for (const row of input.parts) {
    const id = known.get(row.legacy_id);
    if (id) {
      answer.items.push({ kind: 'part', legacy_id: row.legacy_id, id, name: row.name ?? '', created: false });
      continue;
    }
    const converted = convertLegacyPart({
      id: row.legacy_id,
      name: row.name,
      type: row.type,
      content: row.content,
      tags: row.tags,
    });
    answer.warnings.push(...converted.warnings);
    const part = converted.parts[0];
    if (!converted.ok || !part) {
      answer.refused.push({
        kind: 'part',
        legacy_id: row.legacy_id,
        reason: converted.skip ?? 'its content does not parse after conversion (see the warnings)',
      });
      continue;
    }
    if (!(await parts.kind(tx, part.kind))) {
      answer.refused.push({ kind: 'part', legacy_id: row.legacy_id, reason: `its kind "${part.kind}" is not a part kind here` });
      continue;
    }
    let name = part.name.slice(0, 180);
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = `${part.name.slice(0, 180)} (legacy${n === 1 ? '' : ` ${n}`})`;
    taken.add(name.toLowerCase());
    if (name !== part.name)
      answer.warnings.push(`llm_prompt_part ${row.legacy_id}: the name "${part.name}" is taken; imported as "${name}"`);
    let variables;
    try {
      variables = discover(deps, part.content, `part "${name}" v1`);
    } catch (error) {
      if (!(error instanceof Unprocessable)) throw error;
      answer.refused.push({ kind: 'part', legacy_id: row.legacy_id, reason: error.message });
      continue;
    }
    const created = await parts.insert(
      tx,
      uuidv7(),
      {
        kind: part.kind,
        name,
        description: `Imported from llm_prompt_part ${row.legacy_id} of "${source}".`,
        tags: part.tags.slice(0, 20),
        default_role: part.default_role,
        content: part.content,
      },
      AUTHOR,
    );
    const version = await parts.insertVersion(tx, created, 1, variables, 'Imported from the legacy app', AUTHOR);
    await parts.setLatest(tx, created.id, 1);
    await publish(tx, partPublished, {
      part_id: created.id,
      version: 1,
      name,
      kind: part.kind,
      actor: { kind: 'service', id: 'importer' },
      at: iso(version.created_at),
    });
    await tx.query('INSERT INTO prompt.legacy_ids (source, kind, legacy_id, id) VALUES ($1, $2, $3, $4)', [
      source,
      'part',
      row.legacy_id,
      created.id,
    ]);
    await audit(tx, 'part.imported', { type: 'part', id: created.id }, null, { name, kind: part.kind, latest_version: 1 });
    answer.items.push({ kind: 'part', legacy_id: row.legacy_id, id: created.id, name, created: true });
  }
  return answer;
}
