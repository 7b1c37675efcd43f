import type { z } from 'zod';
import { withTransaction, type PoolClient } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import type { Audit } from '@llmops/kit/http/audit';
import type { Identity } from '@llmops/kit/http/identity';
import { Forbidden } from '@llmops/kit/problem';
import { publish } from '@llmops/kit/bus/index';
import { postChanged } from '@llmops/kit/events/workflow';
import {
  importLegacyWorkflow,
  type LegacyWorkflowImportResultSchema,
  type LegacyWorkflowImportSchema,
} from '@llmops/kit/contracts/workflow-legacy-import';
import * as actions from '../db/actions.ts';
import * as fields from '../db/fields.ts';
import type { FieldRow } from '../db/fields.ts';
import * as posts from '../db/posts.ts';
import * as sections from '../db/sections.ts';
import * as stages from '../db/stages.ts';
import * as values from '../db/values.ts';
import { valueProblems } from '../fields/values.ts';
import { firstFree, slugOf } from '../posts/slug.ts';
import { writeValue } from '../revisions/write.ts';
import { mappingProblems } from '../routes/actions.ts';
import { moved, type RouteDeps } from '../routes/common.ts';
import * as legacyIds from './legacy-ids.ts';

type Input = z.output<typeof LegacyWorkflowImportSchema>;
type Answer = z.output<typeof LegacyWorkflowImportResultSchema>;
type Kind = Answer['items'][number]['kind'];

const IMPORTER = { kind: 'service' as const, id: 'importer' };

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
 * The legacy importer's route (docs/migration.md): substages the reference data lacks, the legacy fields
 * the posts use, actions, posts with their sections and values (one revision each, by the importer), and
 * per-post choices, in one transaction through the same checks as the public routes. A dry run does all of
 * it and rolls back. `workflow.legacy_ids` makes a second import create nothing.
 */
export function mountLegacyImport(app: ServiceApp, { pool }: RouteDeps): void {
  app.openapi(importLegacyWorkflow, async (c) => {
    onlyImporter(c.get('identity'));
    const input = c.req.valid('json');
    const answer = await withTransaction(pool, async (tx) => {
      const out = await importRows(tx, input, c.var.audit);
      if (input.dry_run) throw new DryRunDone(out);
      return out;
    }).catch((error: unknown) => {
      if (error instanceof DryRunDone) return error.answer;
      throw error;
    });
    return c.json(answer, 200);
  });
}

async function importRows(tx: PoolClient, input: Input, audit: Audit): Promise<Answer> {
  const { source } = input;
  await legacyIds.lockSource(tx, source);
  const known = await legacyIds.ofSource(tx, source);
  const answer: Answer = { items: [], refused: [] };
  const refuse = (kind: Kind, legacyId: string, reason: string) => answer.refused.push({ kind, legacy_id: legacyId, reason });
  const kept = (kind: legacyIds.LegacyKind, legacyId: string, name: string): boolean => {
    const id = known.get(`${kind}:${legacyId}`);
    if (id) answer.items.push({ kind, legacy_id: legacyId, id, name, created: false });
    return id !== undefined;
  };
  const made = async (kind: legacyIds.LegacyKind, legacyId: string, id: string, name: string, after: object) => {
    await legacyIds.record(tx, source, kind, legacyId, id);
    known.set(`${kind}:${legacyId}`, id);
    answer.items.push({ kind, legacy_id: legacyId, id, name, created: true });
    await audit(tx, `${kind}.imported`, { type: kind, id }, null, after);
  };

  // A stage or substage of a key that exists is used as it is (the reference data, or an earlier import's).
  const there = (kind: 'stage' | 'substage', legacyId: string, id: string, key: string) =>
    answer.items.push({
      kind,
      legacy_id: legacyId,
      id,
      name: key,
      created: false,
      ...(known.get(`${kind}:${legacyId}`) === id ? {} : { existing: true }),
    });
  const stageByKey = new Map((await stages.listStages(tx)).map((row) => [row.key, row]));
  // In legacy order: a stage the reference data lacks goes after the one before it (first when none is).
  let previous: stages.StageRow | undefined;
  for (const stage of input.stages) {
    const found = stageByKey.get(stage.key);
    if (found) {
      there('stage', stage.legacy_id, found.id, found.key);
      previous = found;
      continue;
    }
    if (!input.substages.some((substage) => substage.stage_key === stage.key)) {
      refuse(
        'stage',
        stage.legacy_id,
        'it has no substages, so nothing would be placed in it: add it by hand if the team still wants it',
      );
      continue;
    }
    const id = uuidv7();
    const order = (await stages.lockStages(tx)).map((row) => row.id);
    await stages.insertStage(tx, { id, key: stage.key, label: stage.label, position: order.length + 1 });
    await stages.renumberStages(tx, moved([...order, id], id, previous ? order.indexOf(previous.id) + 2 : 1));
    previous = (await stages.getStage(tx, id)) as stages.StageRow;
    stageByKey.set(stage.key, previous);
    await made('stage', stage.legacy_id, id, stage.key, { key: stage.key, label: stage.label });
  }
  const substageByKey = new Map((await stages.listSubstages(tx, { includeRetired: true })).map((row) => [row.key, row]));
  for (const substage of input.substages) {
    const found = substageByKey.get(substage.key);
    if (found) {
      there('substage', substage.legacy_id, found.id, found.key);
      continue;
    }
    const stage = stageByKey.get(substage.stage_key);
    if (!stage) {
      refuse('substage', substage.legacy_id, `its stage "${substage.stage_key}" is not a stage here`);
      continue;
    }
    const id = uuidv7();
    const position = (await stages.activeInStage(tx, stage.id)).length + 1;
    await stages.insertSubstage(tx, {
      id,
      stage_id: stage.id,
      key: substage.key,
      label: substage.label,
      description: substage.description,
      position,
    });
    substageByKey.set(substage.key, (await stages.getSubstage(tx, id)) as stages.SubstageRow);
    await made('substage', substage.legacy_id, id, substage.key, { key: substage.key, label: substage.label, stage: stage.key });
  }

  const fieldByKey = new Map<string, FieldRow>((await fields.list(tx, { includeRetired: true })).map((row) => [row.key, row]));
  for (const field of input.fields) {
    const there = fieldByKey.get(field.key);
    if (there) {
      // A field an earlier import of this source made is already imported; any other of the key is used as it is.
      const own = known.get(`field:${field.legacy_id}`) === there.id;
      if (there.scope !== field.scope)
        refuse(
          'field',
          field.legacy_id,
          `the key "${field.key}" is a ${there.scope} field here, the legacy one a ${field.scope} field`,
        );
      else
        answer.items.push({
          kind: 'field',
          legacy_id: field.legacy_id,
          id: there.id,
          name: there.key,
          created: false,
          ...(own ? {} : { existing: true }),
        });
      continue;
    }
    const substage = substageByKey.get(field.substage_key);
    if (!substage) {
      refuse('field', field.legacy_id, `its substage "${field.substage_key}" is not a substage here`);
      continue;
    }
    const id = uuidv7();
    const position = (await fields.activeInSubstage(tx, substage.id)).length + 1;
    const row = {
      id,
      key: field.key,
      label: field.label,
      description: field.description,
      kind: field.kind,
      json_schema: null,
      scope: field.scope,
      substage_id: substage.id,
      position,
      required: false,
    };
    await fields.insert(tx, row);
    fieldByKey.set(field.key, (await fields.get(tx, id)) as FieldRow);
    await made('field', field.legacy_id, id, field.key, { key: field.key, kind: field.kind, scope: field.scope });
  }

  for (const action of input.actions) {
    if (kept('action', action.legacy_id, action.label)) continue;
    const substage = substageByKey.get(action.substage_key);
    const target = fieldByKey.get(action.target_field);
    const problems = [
      ...(substage ? [] : [`its substage "${action.substage_key}" is not a substage here`]),
      ...(target ? [] : [`its output field "${action.target_field}" is not a field here`]),
      ...(target && target.kind === 'image' ? ['an image field cannot be the target of a text action'] : []),
      ...(target
        ? (await mappingProblems(tx, action.inputs, target.scope, 'inputs')).map((p) => `${p.field}: ${p.message}`)
        : []),
    ];
    if (!substage || !target || problems.length > 0) {
      refuse('action', action.legacy_id, problems.join('; '));
      continue;
    }
    const id = uuidv7();
    const position = (await actions.activeInSubstage(tx, substage.id)).length + 1;
    await actions.insert(tx, {
      id,
      substage_id: substage.id,
      label: action.label,
      position,
      template_id: action.template_id,
      template_version: null,
      template_label: action.template_label,
      model_id: action.model_id,
      preset_id: action.preset_id,
      inputs: action.inputs,
      target_field_id: target.id,
      mode: action.mode,
    });
    await made('action', action.legacy_id, id, action.label, {
      label: action.label,
      substage: substage.key,
      target_field: target.key,
    });
  }

  const first = await stages.firstSubstage(tx);
  const into = { fieldByKey, refuse, items: answer.items, audit };
  for (const post of input.posts) {
    // A post an earlier import made (or its first part, for a later part of a post too large for one request)
    // is answered as already imported, and its sections and values are gone through as the report counts them.
    let id = known.get(`post:${post.legacy_id}`);
    const earlier = id ? await values.firstRevisionsBy(tx, id, IMPORTER) : null;
    if (id) answer.items.push({ kind: 'post', legacy_id: post.legacy_id, id, name: post.title, created: false });
    else {
      const substage = (post.substage_key && substageByKey.get(post.substage_key)) || first;
      if (!substage) {
        refuse('post', post.legacy_id, 'every substage is retired here');
        continue;
      }
      const base = slugOf(post.slug || post.title);
      id = uuidv7();
      const slug = firstFree(base, await posts.slugsLike(tx, base));
      await posts.insert(tx, {
        id,
        title: post.title,
        slug,
        status: post.status,
        substage_id: substage.id,
        created_by: 'service:importer',
      });
      await publish(tx, postChanged, { post_id: id, change: 'created', at: new Date().toISOString() });
      await made('post', post.legacy_id, id, post.title, { title: post.title, slug, status: post.status });
    }
    const postId = id;
    await writeValues(tx, { postId, sectionId: null, row: `post ${post.legacy_id}`, earlier }, post.values, into);
    for (const [index, section] of post.sections.entries()) {
      const position = section.position ?? index + 1;
      let sectionId = known.get(`section:${section.legacy_id}`);
      const name = `${post.title} §${position}`;
      if (sectionId) answer.items.push({ kind: 'section', legacy_id: section.legacy_id, id: sectionId, name, created: false });
      else {
        sectionId = uuidv7();
        await sections.insert(tx, { id: sectionId, post_id: postId, position });
        await made('section', section.legacy_id, sectionId, name, { post_id: postId, position });
      }
      await writeValues(tx, { postId, sectionId, row: `post_section ${section.legacy_id}`, earlier }, section.values, into);
    }
  }

  for (const choice of input.choices) {
    if (kept('choice', choice.legacy_id, choice.legacy_id)) continue;
    const postId = known.get(`post:${choice.post_legacy_id}`);
    const actionId = known.get(`action:${choice.action_legacy_id}`);
    const target = choice.target_field ? fieldByKey.get(choice.target_field) : undefined;
    const action = actionId ? await actions.get(tx, actionId) : undefined;
    const scope = target?.scope ?? action?.target_field_scope ?? 'post';
    const problems = [
      ...(postId ? [] : [`its post (legacy id ${choice.post_legacy_id}) is not imported`]),
      ...(action ? [] : [`its action (legacy id ${choice.action_legacy_id}) is not imported`]),
      ...(choice.target_field && !target ? [`its output field "${choice.target_field}" is not a field here`] : []),
      ...(choice.inputs
        ? (await mappingProblems(tx, choice.inputs, scope, 'inputs')).map((p) => `${p.field}: ${p.message}`)
        : []),
    ];
    if (!postId || !action || problems.length > 0) {
      refuse('choice', choice.legacy_id, problems.join('; '));
      continue;
    }
    await actions.setChoice(tx, {
      post_id: postId,
      action_id: action.id,
      hidden: false,
      inputs: choice.inputs,
      target_field_id: target && target.id !== action.target_field_id ? target.id : null,
    });
    await made('choice', choice.legacy_id, postId, `${action.label} on post ${choice.post_legacy_id}`, {
      action_id: action.id,
      inputs: choice.inputs,
      target_field: choice.target_field,
    });
  }
  return answer;
}

/**
 * A post's or section's values, each one revision by the importer (an item); a value that does not fit is
 * refused. In a post made before (`earlier`: the importer's first revision of each of its values), a value the
 * importer wrote is already imported (that revision is its id); one the post does not have is written; one
 * written here by someone else since is left as it is and reported.
 */
async function writeValues(
  tx: PoolClient,
  target: { postId: string; sectionId: string | null; row: string; earlier: ReadonlyMap<string, string> | null },
  list: readonly { field: string; value: unknown }[],
  into: {
    fieldByKey: ReadonlyMap<string, FieldRow>;
    refuse: (kind: Kind, legacyId: string, reason: string) => void;
    items: Answer['items'];
    audit: Audit;
  },
): Promise<void> {
  const { postId, sectionId, row } = target;
  const scope = sectionId === null ? 'post' : 'section';
  for (const { field: key, value: legacy } of list) {
    const legacyId = `${row} ${key}`;
    const field = into.fieldByKey.get(key);
    const value = field ? fromLegacyText(field.kind, legacy) : legacy;
    const problems = !field
      ? [`no field ${key}`]
      : field.scope !== scope
        ? [`${key} is a ${field.scope} field`]
        : valueProblems(field, value, 'value').map((p) => `${p.field}: ${p.message}`);
    if (!field || problems.length > 0) {
      into.refuse('value', legacyId, `${row}, field ${key}: ${problems.join('; ')}`);
      continue;
    }
    const imported = target.earlier?.get(`${sectionId ?? ''} ${field.id}`);
    if (imported) {
      into.items.push({ kind: 'value', legacy_id: legacyId, id: imported, name: key, created: false });
      continue;
    }
    const other = target.earlier ? await values.current(tx, { postId, sectionId, fieldId: field.id }) : undefined;
    if (other) {
      into.refuse(
        'value',
        legacyId,
        `${row}, field ${key}: the post already has a value here written since the import (by ${other.author_kind} ${other.author_id}); left as it is`,
      );
      continue;
    }
    const written = await writeValue(tx, { postId, sectionId, field, value, base: null, author: IMPORTER });
    await into.audit(tx, 'value.imported', { type: 'field_value', id: written.value_id }, null, {
      post_id: postId,
      section_id: sectionId,
      field_key: field.key,
      revision_id: written.id,
    });
    into.items.push({ kind: 'value', legacy_id: legacyId, id: written.id, name: key, created: true });
  }
}

/**
 * The legacy app kept every value as text: a list field takes a JSON array of strings as it is, else the
 * text's non-empty lines (list markers such as `-` or `1.` removed); a json field takes the text parsed.
 */
export function fromLegacyText(kind: FieldRow['kind'], value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (kind === 'json' || kind === 'list') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (kind === 'json') return parsed;
      if (Array.isArray(parsed)) return parsed.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
    } catch {
      if (kind === 'json') return value;
    }
    return value
      .split(/\r?\n/)
      .map((line) => line.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, '').trim())
      .filter(Boolean);
  }
  return value;
}
