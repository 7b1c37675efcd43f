import type { z } from 'zod';
import { usdOrNull } from '@llmops/kit/money';
import type * as contract from '@llmops/kit/contracts/workflow';
import type { ActionRow } from './db/actions.ts';
import type { FieldRow } from './db/fields.ts';
import type { PostRow } from './db/posts.ts';
import type { RunRow } from './db/runs.ts';
import type { SectionRow } from './db/sections.ts';
import type { StageRow, SubstageRow } from './db/stages.ts';
import type { SuggestionRow } from './db/suggestions.ts';
import type { CurrentValue, RevisionRow } from './db/values.ts';

/** Rows as the API shows them (the contract's schemas). */

const iso = (date: Date): string => date.toISOString();
const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function substageJson(row: SubstageRow): z.output<typeof contract.SubstageSchema> {
  return {
    id: row.id,
    stage_id: row.stage_id,
    key: row.key,
    label: row.label,
    description: row.description,
    position: row.position,
    retired_at: isoOrNull(row.retired_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function stageJson(row: StageRow, substages: SubstageRow[]): z.output<typeof contract.StageSchema> {
  return {
    id: row.id,
    key: row.key,
    label: row.label,
    position: row.position,
    substages: substages.filter((s) => s.stage_id === row.id).map(substageJson),
  };
}

export function fieldJson(row: FieldRow): z.output<typeof contract.FieldSchema> {
  return {
    id: row.id,
    key: row.key,
    label: row.label,
    description: row.description,
    kind: row.kind,
    json_schema: row.json_schema,
    scope: row.scope,
    substage_id: row.substage_id,
    position: row.position,
    required: row.required,
    retired_at: isoOrNull(row.retired_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function postJson(row: PostRow): z.output<typeof contract.PostSchema> {
  return {
    id: row.id,
    title: row.title,
    slug: row.slug,
    status: row.status,
    substage_id: row.substage_id,
    created_by: row.created_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function sectionJson(row: SectionRow): z.output<typeof contract.SectionSchema> {
  return {
    id: row.id,
    post_id: row.post_id,
    position: row.position,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function valueJson(row: CurrentValue): z.output<typeof contract.FieldValueSchema> {
  return {
    field_id: row.field_id,
    field_key: row.field_key,
    section_id: row.section_id,
    value: row.value,
    revision_id: row.id,
    author: { kind: row.author_kind, id: row.author_id },
    updated_at: iso(row.amended_at),
  };
}

export function revisionJson(row: RevisionRow): z.output<typeof contract.RevisionSchema> {
  return {
    id: row.id,
    value: row.value,
    previous_revision_id: row.previous_revision_id,
    author: { kind: row.author_kind, id: row.author_id },
    source_task_id: row.source_task_id,
    restored_from_revision_id: row.restored_from_revision_id,
    created_at: iso(row.created_at),
    amended_at: iso(row.amended_at),
  };
}

export function postDetailJson(
  row: PostRow,
  sections: SectionRow[],
  values: CurrentValue[],
): z.output<typeof contract.PostDetailSchema> {
  return { ...postJson(row), sections: sections.map(sectionJson), values: values.map(valueJson) };
}

export function actionJson(row: ActionRow): z.output<typeof contract.ActionSchema> {
  return {
    id: row.id,
    substage_id: row.substage_id,
    label: row.label,
    position: row.position,
    template_id: row.template_id,
    template_version: row.template_version,
    template_label: row.template_label,
    model_id: row.model_id,
    preset_id: row.preset_id,
    inputs: row.inputs,
    target_field: row.target_field_key,
    for_each_section: row.target_field_scope === 'section',
    mode: row.mode,
    retired_at: isoOrNull(row.retired_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function suggestionJson(row: SuggestionRow): z.output<typeof contract.SuggestionSchema> {
  return {
    id: row.id,
    task_id: row.task_id,
    action_run_id: row.action_run_id,
    post_id: row.post_id,
    section_id: row.section_id,
    field_key: row.field_key,
    value: row.value,
    base_revision_id: row.base_revision_id,
    valid: row.valid,
    invalid_reasons: row.invalid_reasons,
    status: row.status,
    decided_by: row.decided_by,
    decided_at: isoOrNull(row.decided_at),
    revision_id: row.revision_id,
    created_at: iso(row.created_at),
  };
}

export function runJson(row: RunRow, suggestion: SuggestionRow | undefined): z.output<typeof contract.ActionRunSchema> {
  return {
    id: row.id,
    action_id: row.action_id,
    action_label: row.action_label,
    post_id: row.post_id,
    section_id: row.section_id,
    field_key: row.field_key,
    mode: row.mode,
    status: row.status,
    requested_by: row.requested_by,
    task_id: row.task_id,
    target_base_revision_id: row.target_base_revision_id,
    inputs: row.inputs,
    error: row.error,
    output_text: row.output_text,
    cost_usd: usdOrNull(row.cost_usd),
    suggestion: suggestion ? suggestionJson(suggestion) : null,
    created_at: iso(row.created_at),
    finished_at: isoOrNull(row.finished_at),
  };
}
