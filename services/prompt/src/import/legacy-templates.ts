import type { z } from 'zod';
import type { PoolClient } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { Audit } from '@llmops/kit/http/audit';
import { publish } from '@llmops/kit/bus/index';
import { labelMoved, templatePublished } from '@llmops/kit/events/prompt';
import type { LegacyPromptImportResultSchema, LegacyPromptImportSchema } from '@llmops/kit/contracts/prompt/legacy-import';
import { convertLegacyRow } from '../legacy/convert.ts';
import * as templates from '../db/templates.ts';
import type { DraftMessage } from '../db/templates.ts';
import { resolveDraft } from '../versions/resolve.ts';
import { validateDraft, versionJson } from '../routes/templates.ts';
import { iso, type RouteDeps } from '../routes/common.ts';

type Answer = z.output<typeof LegacyPromptImportResultSchema>;
type TemplateIn = z.output<typeof LegacyPromptImportSchema>['templates'][number];

const AUTHOR = 'service:importer';
const ACTOR = { kind: 'service' as const, id: 'importer' };
/** Every imported template's version 1 carries this label, so runs can name it and a person can find them. */
export const LEGACY_LABEL = 'legacy';

/**
 * Legacy prompts → templates (docs/migration.md): each converted by the service's legacy converter
 * (docs/legacy-converter.md) into messages of inline text entries (a template's own text stays with it; the
 * parts library gets only the legacy parts), then published as version 1 and labelled `legacy` as the
 * label routes do (label move recorded, `prompt.label.moved` published). Runs in the caller's transaction.
 */
export async function importTemplates(
  deps: RouteDeps,
  tx: PoolClient,
  source: string,
  rows: readonly TemplateIn[],
  audit: Audit,
  answer: Answer,
): Promise<void> {
  const { rows: earlier } = await tx.query<{
    legacy_id: string;
    id: string;
    name: string;
    variables: { name: string; type: string }[];
  }>(
    `SELECT l.legacy_id, t.id, t.name, t.variables FROM prompt.legacy_ids l JOIN prompt.templates t ON t.id = l.id
     WHERE l.source = $1 AND l.kind = 'template'`,
    [source],
  );
  const known = new Map(earlier.map((row) => [row.legacy_id, row]));
  const { rows: names } = await tx.query<{ name: string }>(
    'SELECT lower(name) AS name FROM prompt.templates WHERE deleted_at IS NULL',
  );
  const taken = new Set(names.map((row) => row.name));
  for (const row of rows) {
    const before = known.get(row.legacy_id);
    if (before) {
      answer.items.push({
        kind: 'template',
        legacy_id: row.legacy_id,
        id: before.id,
        name: before.name,
        created: false,
        variables: before.variables.map((v) => ({ name: v.name, type: v.type })),
      });
      continue;
    }
    const converted = convertLegacyRow(
      {
        id: row.legacy_id,
        name: row.name,
        prompt_text: row.prompt_text,
        system_prompt: row.system_prompt,
        prompt_json: row.prompt_json,
        parameters: row.parameters,
      },
      { row: row.row, name: row.name, inputs: row.inputs, contextInputs: row.context_inputs },
    );
    answer.warnings.push(...converted.warnings);
    if (!converted.ok) {
      answer.refused.push({
        kind: 'template',
        legacy_id: row.legacy_id,
        reason: converted.skip ?? 'a converted part does not parse (see the warnings)',
      });
      continue;
    }
    let name = row.name;
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = `${row.name} (legacy${n === 1 ? '' : ` ${n}`})`;
    taken.add(name.toLowerCase());
    if (name !== row.name) answer.warnings.push(`${row.row}: the template name "${row.name}" is taken; imported as "${name}"`);

    const draft: DraftMessage[] = converted.messages.map((message) => ({
      id: uuidv7(),
      role: message.role,
      entries: message.entries.map((entry) => ({
        id: uuidv7(),
        type: 'text' as const,
        part_id: null,
        version: null,
        label: null,
        text: converted.parts[entry.part_index]?.content ?? '',
      })),
    }));
    const settings = {
      name,
      description: (row.description || `Imported from ${row.row} of "${source}".`).slice(0, 2000),
      merge_adjacent: false,
      default_model_id: null,
      default_preset_id: null,
      variables: converted.variables,
    };
    try {
      await validateDraft(deps, tx, draft, settings.variables);
    } catch (error) {
      answer.refused.push({ kind: 'template', legacy_id: row.legacy_id, reason: (error as Error).message });
      continue;
    }
    // Publishing checks (what the publish route refuses) before anything is written.
    const resolution = await resolveDraft(tx, draft);
    const problems = [...resolution.problems, ...deps.renderer.analyze(resolution.messages).problems];
    if (problems.length > 0) {
      answer.refused.push({
        kind: 'template',
        legacy_id: row.legacy_id,
        reason: `converted, but it cannot be published: ${problems.map((p) => p.message).join('; ')}`,
      });
      continue;
    }
    const template = await templates.insert(tx, uuidv7(), settings, AUTHOR);
    await templates.replaceMessages(tx, template.id, draft);
    const version = await templates.insertVersion(tx, template, 1, resolution.frozen, 'Imported from the legacy app', AUTHOR);
    const body = versionJson(version);
    await publish(tx, templatePublished, {
      template_id: template.id,
      version: 1,
      name,
      part_versions: body.part_versions,
      actor: ACTOR,
      at: body.created_at,
    });
    await templates.upsertLabel(tx, template.id, LEGACY_LABEL, 1, false, AUTHOR);
    const { at } = await templates.recordMove(tx, {
      id: uuidv7(),
      template_id: template.id,
      label: LEGACY_LABEL,
      from_version: null,
      to_version: 1,
      protected: false,
      actor_kind: ACTOR.kind,
      actor_id: ACTOR.id,
      request_id: null,
    });
    await publish(tx, labelMoved, {
      template_id: template.id,
      label: LEGACY_LABEL,
      from_version: null,
      to_version: 1,
      protected: false,
      actor: ACTOR,
      at: iso(at),
    });
    await tx.query('INSERT INTO prompt.legacy_ids (source, kind, legacy_id, id) VALUES ($1, $2, $3, $4)', [
      source,
      'template',
      row.legacy_id,
      template.id,
    ]);
    await audit(tx, 'template.imported', { type: 'template', id: template.id }, null, {
      name,
      latest_version: 1,
      labels: [LEGACY_LABEL],
    });
    answer.items.push({
      kind: 'template',
      legacy_id: row.legacy_id,
      id: template.id,
      name,
      created: true,
      variables: converted.variables.map((v) => ({ name: v.name, type: v.type })),
    });
  }
}
