/**
 * What a legacy database's prompts, actions, step automations and posts become (docs/migration.md): pure
 * functions of the snapshot (and of the ids the registry and prompt service answered), so the dry run and
 * `--apply` plan exactly the same rows. Three owners: the prompt service gets the templates
 * (`planTemplates`), the registry each action's sampling settings as a preset (`planActionPresets`), the
 * workflow service fields, actions, posts and choices (`planWorkflow`). Whatever cannot be mapped is
 * skipped with the row and a reason; whatever a person must finish is a note.
 */
import type { z } from 'zod';
import type { LegacyWorkflowImportSchema } from '@llmops/kit/contracts/workflow-legacy-import';
import type { LegacyPromptImportSchema } from '@llmops/kit/contracts/prompt/legacy-import';
import type { LegacyRegistryImportSchema } from '@llmops/kit/contracts/registry';
import type { LegacySnapshot, Row } from './legacy-source.ts';

type WorkflowImport = z.input<typeof LegacyWorkflowImportSchema>;
type TemplateIn = NonNullable<z.input<typeof LegacyPromptImportSchema>['templates']>[number];
type PresetIn = NonNullable<z.input<typeof LegacyRegistryImportSchema>['presets']>[number];
type ActionIn = NonNullable<WorkflowImport['actions']>[number];
type FieldIn = NonNullable<WorkflowImport['fields']>[number];
type StageIn = NonNullable<WorkflowImport['stages']>[number];
type PostIn = NonNullable<WorkflowImport['posts']>[number];
type ChoiceIn = NonNullable<WorkflowImport['choices']>[number];
type Mapping = ActionIn['inputs'];

export type WorkflowKind = 'template' | 'action' | 'field' | 'stage' | 'substage' | 'post' | 'section' | 'choice' | 'value';
export interface Skipped {
  kind: WorkflowKind;
  table: string;
  legacy_id: string;
  reason: string;
}
export interface Note {
  kind: WorkflowKind;
  legacy_id: string;
  message: string;
}

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');
const record = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const KEY = /^[a-z][a-z0-9_]{0,63}$/;
const keyOf = (name: string): string =>
  name
    .toLowerCase()
    .replaceAll(/[^a-z0-9]+/g, '_')
    .replaceAll(/^_+|_+$/g, '')
    .replace(/^(\d)/, 'f_$1')
    .slice(0, 64);
const labelOf = (key: string): string =>
  key
    .replaceAll('_', ' ')
    .replace(/\b\w/g, (c) => c.toUpperCase())
    .slice(0, 100);

/** Legacy substage names and the keys of the reference stages they became (blogforge §2.4). */
const SUBSTAGE_ALIASES: Record<string, string> = { sections: 'content', post_info: 'meta_info', meta: 'meta_info' };
const STAGE_ALIASES: Record<string, string> = { writing: 'authoring' };
/** The types `post_section_elements.element_type` may hold (its CHECK). */
const ELEMENT_TYPES = ['fact', 'idea', 'theme'] as const;
/**
 * `post_development` and `post_section` columns that are keys, bookkeeping or image files, not fields: images
 * are filled by hand or by image tasks here (docs/migration.md, not carried over); `*_at` columns are times.
 */
const NOT_FIELD_COLUMNS = new Set([
  'id',
  'post_id',
  'section_order',
  'status',
  'image_id',
  'image_prompt_example_id',
  'generated_image_url',
  'image_generation_metadata',
  'image_filename',
  'image_title',
  'image_width',
  'image_height',
]);
const NOT_FIELDS = { has: (column: string) => NOT_FIELD_COLUMNS.has(column) || column.endsWith('_at') };

/** The legacy template each action ran, as the runtime chose it: the prompt's parts, else the action's own text. */
const isParts = (promptJson: unknown): boolean => Array.isArray(promptJson) && promptJson.length > 0;

export interface StepAutomation {
  step: Row;
  llm: Record<string, unknown>;
  /** Input field names and their tables. */
  inputs: { field: string; table: string }[];
  output: { field: string; table: string } | null;
  system: string | null;
  task: string | null;
}

/** The steps with an LLM configuration (E3/E4): settings.llm, workflow_step_prompt, llm_prompt.step_id. */
export function stepAutomations(snapshot: LegacySnapshot): StepAutomation[] {
  const prompts = new Map(snapshot.rows.llm_prompt.map((row) => [String(row.id), row]));
  const stepPrompts = new Map(snapshot.rows.workflow_step_prompt.map((row) => [String(row.step_id), row]));
  const out: StepAutomation[] = [];
  for (const step of snapshot.rows.workflow_step_entity) {
    const config = record(step.config);
    const llm = record(record(config.settings).llm);
    const linked = stepPrompts.get(String(step.id));
    const byStep = snapshot.rows.llm_prompt.filter((row) => String(row.step_id ?? '') === String(step.id));
    if (Object.keys(llm).length === 0 && !linked && byStep.length === 0) continue;
    const mappingList = Array.isArray(llm.input_mapping) ? llm.input_mapping : Object.values(record(llm.input_mapping));
    const inputs = mappingList
      .map((m) => ({ field: text(record(m).field), table: text(record(m).table) || 'post_development' }))
      .filter((m) => m.field);
    for (const input of Object.values(record(config.inputs)))
      if (text(record(input).db_field) && !inputs.some((i) => i.field === text(record(input).db_field)))
        inputs.push({ field: text(record(input).db_field), table: text(record(input).db_table) || 'post_development' });
    const mapped = record(llm.output_mapping);
    const firstOut = Object.values(record(config.outputs)).map(record)[0];
    const output = text(mapped.field)
      ? { field: text(mapped.field), table: text(mapped.table) || 'post_development' }
      : firstOut && text(firstOut.db_field)
        ? { field: text(firstOut.db_field), table: text(firstOut.db_table) || 'post_development' }
        : null;
    // The July+ runtime read the step's prompts from workflow_step_prompt; E4 also links prompts by step_id.
    const systemRow = linked ? prompts.get(String(linked.system_prompt_id)) : byStep.find((row) => text(row.system_prompt));
    const taskRow = linked ? prompts.get(String(linked.task_prompt_id)) : byStep.find((row) => !text(row.system_prompt));
    const system = systemRow ? text(systemRow.system_prompt) || text(systemRow.prompt_text) : text(llm.system_prompt);
    const task = taskRow ? text(taskRow.prompt_text) : text(llm.task_prompt);
    out.push({ step, llm, inputs, output, system: system || null, task: task || null });
  }
  return out;
}

/** Every legacy prompt the runtime ran, as the prompt service's converter takes it. */
export function planTemplates(snapshot: LegacySnapshot): TemplateIn[] {
  const out: TemplateIn[] = snapshot.rows.llm_prompt.map((row) => ({
    legacy_id: `prompt:${String(row.id)}`,
    row: `llm_prompt ${String(row.id)}`,
    name: (text(row.name) || `Legacy prompt ${String(row.id)}`).slice(0, 180),
    description: text(row.description).slice(0, 2000),
    prompt_text: typeof row.prompt_text === 'string' ? row.prompt_text : null,
    system_prompt: typeof row.system_prompt === 'string' ? row.system_prompt : null,
    prompt_json: row.prompt_json ?? null,
    parameters: row.parameters ?? null,
  }));
  const prompts = new Map(snapshot.rows.llm_prompt.map((row) => [String(row.id), row]));
  for (const action of snapshot.rows.llm_action) {
    if (isParts(prompts.get(String(action.prompt_template_id))?.prompt_json)) continue;
    out.push({
      legacy_id: `action:${String(action.id)}`,
      row: `llm_action ${String(action.id)}`,
      name: `${text(action.field_name) || 'Action'} (legacy action ${String(action.id)})`.slice(0, 180),
      description: `The prompt_template of legacy action ${String(action.id)}, which the legacy runtime ran.`,
      prompt_text: typeof action.prompt_template === 'string' ? action.prompt_template : null,
      system_prompt: null,
    });
  }
  for (const auto of stepAutomations(snapshot)) {
    const names = auto.inputs.map((i) => i.field).filter((f) => KEY.test(f));
    out.push({
      legacy_id: `step:${String(auto.step.id)}`,
      row: `workflow_step_entity ${String(auto.step.id)}`,
      name: `${text(auto.step.name) || 'Step'} (legacy step ${String(auto.step.id)})`.slice(0, 180),
      description: `The system and task prompts of legacy workflow step ${String(auto.step.id)}.`,
      prompt_text: auto.task,
      system_prompt: auto.system,
      parameters: auto.llm.parameters ?? null,
      inputs: names,
      context_inputs: names,
    });
  }
  return out;
}

/** A model name resolved as the legacy runtime did: the first `llm_model` row of that name. */
export function resolveModel(
  snapshot: LegacySnapshot,
  name: string,
  providerId: unknown,
  where: string,
  notes: Note[],
  kind: WorkflowKind,
): string | null {
  if (!snapshot.columns.has('llm_model')) return name ? `name:${name}` : null;
  const rows = snapshot.rows.llm_model.filter((row) => text(row.name) === name);
  const first = rows[0];
  if (!first) {
    notes.push({
      kind,
      legacy_id: where,
      message: `names model "${name}", which has no llm_model row (a test row?): imported without a model; choose one on the action`,
    });
    return null;
  }
  if (rows.length > 1)
    notes.push({
      kind,
      legacy_id: where,
      message: `model "${name}" is a model of ${rows.length} providers; the legacy runtime used the first, llm_model ${String(first.id)} (provider ${String(first.provider_id)})`,
    });
  if (providerId != null && String(providerId) !== String(first.provider_id))
    notes.push({
      kind,
      legacy_id: where,
      message: `provider_id ${String(providerId)} disagrees with model "${name}" (provider ${String(first.provider_id)}); the legacy runtime used the model's provider, and so does the import`,
    });
  return String(first.id);
}

/** An action's or step's sampling settings and timeout as preset parameters. */
function presetParameters(source: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const num = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value);
  const put = (name: string, value: unknown) => {
    const n = num(value);
    if (typeof n === 'number' && Number.isFinite(n)) out[name] = n;
  };
  put('temperature', source.temperature);
  put('max_output_tokens', source.max_tokens);
  put('top_p', source.top_p);
  put('frequency_penalty', source.frequency_penalty);
  put('presence_penalty', source.presence_penalty);
  const timeout = num(source.timeout);
  if (typeof timeout === 'number' && timeout >= 1 && timeout <= 3600) {
    out.first_byte_timeout_ms = Math.round(timeout * 1000);
    out.idle_timeout_ms = Math.round(timeout * 1000);
  }
  return out;
}

/** Each action's and step's temperature / max_tokens / timeout → a preset of its model (the registry's). */
export function planActionPresets(snapshot: LegacySnapshot, importedModels: ReadonlySet<string>): PresetIn[] {
  const out: PresetIn[] = [];
  const ignore: Note[] = [];
  for (const action of snapshot.rows.llm_action) {
    const model = resolveModel(snapshot, text(action.llm_model), action.provider_id, String(action.id), ignore, 'action');
    if (!model || !importedModels.has(model)) continue;
    out.push({
      legacy_id: `action:${String(action.id)}`,
      name: `${text(action.field_name) || 'Action'} (legacy action ${String(action.id)})`.slice(0, 100),
      description: `temperature, max_tokens and timeout of legacy action ${String(action.id)}.`,
      model_legacy_id: model,
      parameters: presetParameters(action),
    });
  }
  for (const auto of stepAutomations(snapshot)) {
    const model = resolveModel(snapshot, text(auto.llm.model), null, String(auto.step.id), ignore, 'action');
    if (!model || !importedModels.has(model)) continue;
    out.push({
      legacy_id: `step:${String(auto.step.id)}`,
      name: `${text(auto.step.name) || 'Step'} (legacy step ${String(auto.step.id)})`.slice(0, 100),
      description: `The LLM settings of legacy workflow step ${String(auto.step.id)}.`,
      model_legacy_id: model,
      parameters: presetParameters({ ...record(auto.llm.parameters), timeout: auto.llm.timeout }),
    });
  }
  return out;
}

/** What the registry and prompt service answered, by legacy id. */
export interface Answered {
  models: ReadonlyMap<string, string>;
  presets: ReadonlyMap<string, string>;
  templates: ReadonlyMap<string, { id: string; variables: readonly string[] }>;
}

export interface WorkflowPlan {
  request: WorkflowImport & {
    stages: StageIn[];
    fields: FieldIn[];
    actions: ActionIn[];
    posts: PostIn[];
    choices: ChoiceIn[];
  };
  skipped: Skipped[];
  notes: Note[];
}

export function planWorkflow(snapshot: LegacySnapshot, answered: Answered): WorkflowPlan {
  const request: WorkflowPlan['request'] = {
    source: snapshot.source,
    stages: [],
    substages: [],
    fields: [],
    actions: [],
    posts: [],
    choices: [],
  };
  const plan: WorkflowPlan = { request, skipped: [], notes: [] };
  const { skipped, notes } = plan;
  const rows = snapshot.rows;

  // Stages and substages: names are the stable key (blogforge §7); what the reference data lacks is created.
  const stageKeyOf = (row: Row) => {
    const raw = keyOf(text(row.name));
    return STAGE_ALIASES[raw] ?? raw;
  };
  const stageNames = new Map(rows.workflow_stage_entity.map((row) => [String(row.id), stageKeyOf(row)]));
  const legacyStages = [...rows.workflow_stage_entity].sort(
    (a, b) => Number(a.stage_order ?? 0) - Number(b.stage_order ?? 0) || Number(a.id) - Number(b.id),
  );
  for (const row of legacyStages) {
    const key = stageKeyOf(row);
    if (!KEY.test(key)) {
      skipped.push({
        kind: 'stage',
        table: 'workflow_stage_entity',
        legacy_id: String(row.id),
        reason: `its name "${text(row.name)}" makes no stage key (a letter, then letters, digits or _): add the stage by hand`,
      });
      continue;
    }
    request.stages.push({ legacy_id: String(row.id), key, label: labelOf(text(row.name) || key) });
  }
  const substageKey = new Map<string, string>();
  for (const row of rows.workflow_sub_stage_entity) {
    const raw = keyOf(text(row.name));
    const key = SUBSTAGE_ALIASES[raw] ?? raw;
    substageKey.set(String(row.id), key);
    if (!KEY.test(key)) continue;
    const stage = stageNames.get(String(row.stage_id)) ?? '';
    request.substages?.push({
      legacy_id: String(row.id),
      key,
      label: labelOf(text(row.name) || key),
      stage_key: stage,
      description: text(row.description).slice(0, 1000),
    });
  }
  const stepSubstage = (stepId: unknown): string | undefined => {
    const step = rows.workflow_step_entity.find((row) => String(row.id) === String(stepId));
    return step ? substageKey.get(String(step.sub_stage_id)) : undefined;
  };
  const mappedSubstage = new Map<string, string>();
  if (snapshot.columns.get('workflow_field_mapping')?.has('substage_id'))
    for (const row of rows.workflow_field_mapping) {
      const key = substageKey.get(String(row.substage_id));
      if (key && !mappedSubstage.has(text(row.field_name))) mappedSubstage.set(text(row.field_name), key);
    }

  // Posts: deleted ones (and what points at them) are reported, not imported.
  const livePosts = rows.post.filter((post) => {
    if (text(post.status) !== 'deleted') return true;
    skipped.push({
      kind: 'post',
      table: 'post',
      legacy_id: String(post.id),
      reason: 'soft-deleted in the legacy app (status "deleted")',
    });
    return false;
  });
  const live = new Set(livePosts.map((post) => String(post.id)));
  for (const table of ['post_development', 'post_section', 'post_substage_action', 'post_workflow_step_action'] as const)
    for (const row of rows[table])
      if (row.post_id != null && !live.has(String(row.post_id)))
        skipped.push({
          kind: table === 'post_section' ? 'section' : table === 'post_development' ? 'value' : 'choice',
          table,
          legacy_id: String(row.id),
          reason: `belongs to post ${String(row.post_id)}, which is ${rows.post.some((p) => String(p.id) === String(row.post_id)) ? 'soft-deleted' : 'missing'}`,
        });

  // Fields: the legacy columns live posts use, and those actions and steps read or write.
  const sectionColumns = snapshot.columns.get('post_section') ?? new Set<string>();
  const devColumns = snapshot.columns.get('post_development') ?? new Set<string>();
  const sectionKey = (column: string) => (devColumns.has(column) ? `section_${column}` : column);
  const fields = new Map<string, FieldIn>();
  const addField = (table: 'post_development' | 'post_section', column: string, value?: unknown) => {
    const scope = table === 'post_section' ? 'section' : 'post';
    const key = scope === 'section' ? sectionKey(column) : column;
    if (fields.has(key) || NOT_FIELDS.has(column) || !KEY.test(key)) return;
    fields.set(key, {
      legacy_id: `${table}.${column}`,
      key,
      label: labelOf(column),
      description: `The legacy ${table}.${column}.`,
      kind: value !== null && typeof value === 'object' ? 'json' : 'markdown',
      scope,
      substage_key: scope === 'section' ? 'content' : (mappedSubstage.get(column) ?? 'idea'),
    });
  };
  const hasValue = (value: unknown) => value != null && !(typeof value === 'string' && value.trim() === '');
  for (const row of rows.post_development)
    if (live.has(String(row.post_id)))
      for (const [column, value] of Object.entries(row)) if (hasValue(value)) addField('post_development', column, value);
  for (const row of rows.post_section)
    if (live.has(String(row.post_id)))
      for (const [column, value] of Object.entries(row)) if (hasValue(value)) addField('post_section', column, value);
  const fieldRef = (name: string, table = 'post_development'): string | null => {
    if (table === 'post_section' ? !sectionColumns.has(name) : !devColumns.has(name)) return null;
    addField(table === 'post_section' ? 'post_section' : 'post_development', name);
    const key = table === 'post_section' ? sectionKey(name) : name;
    return fields.has(key) ? key : null;
  };

  // Section elements (facts, ideas and themes per section, blogforge §2.3): one list field per type, each
  // section's elements its items in element_order; a row that cannot be placed is reported.
  const elements = new Map<string, Map<string, Row[]>>();
  const sectionRows = new Map(rows.post_section.map((row) => [String(row.id), row]));
  for (const row of rows.post_section_elements) {
    const skip = (reason: string) =>
      skipped.push({ kind: 'value', table: 'post_section_elements', legacy_id: String(row.id), reason });
    const section = sectionRows.get(String(row.section_id));
    const type = text(row.element_type);
    if (!live.has(String(row.post_id)))
      skip(
        `belongs to post ${String(row.post_id)}, which is ${rows.post.some((p) => String(p.id) === String(row.post_id)) ? 'soft-deleted' : 'missing'}`,
      );
    else if (!section) skip(`its section ${String(row.section_id)} is not a post_section row: there is no section to put it in`);
    else if (String(section.post_id) !== String(row.post_id))
      skip(
        `its section ${String(row.section_id)} belongs to post ${String(section.post_id)}, not to its post ${String(row.post_id)}: which one is meant cannot be told; add it by hand`,
      );
    else if (!(ELEMENT_TYPES as readonly string[]).includes(type))
      skip(`its element_type "${type}" is none of ${ELEMENT_TYPES.join(', ')}: add it by hand to the section`);
    else if (!text(row.element_text)) skip('its element_text is empty: there is nothing to keep');
    else {
      const bySection = elements.get(String(section.id)) ?? new Map<string, Row[]>();
      bySection.set(type, [...(bySection.get(type) ?? []), row]);
      elements.set(String(section.id), bySection);
      const key = `section_${type}s`;
      if (!fields.has(key))
        fields.set(key, {
          legacy_id: `post_section_elements.${type}`,
          key,
          label: labelOf(key),
          description: `The legacy post_section_elements of type ${type}, in element_order.`,
          kind: 'list',
          scope: 'section',
          substage_key: 'content',
        });
    }
  }
  const elementValues = (sectionId: string) =>
    [...(elements.get(sectionId) ?? new Map<string, Row[]>())].map(([type, list]) => ({
      field: `section_${type}s`,
      value: [...list]
        .sort((a, b) => Number(a.element_order ?? 0) - Number(b.element_order ?? 0) || Number(a.id) - Number(b.id))
        .map((row) => text(row.element_text)),
    }));

  // Actions from llm_action, then one per step automation.
  const templateOf = (legacyId: string, where: string, kind: WorkflowKind) => {
    const template = answered.templates.get(legacyId);
    if (!template)
      skipped.push({
        kind,
        table: where.split(' ')[0] as string,
        legacy_id: where.split(' ')[1] as string,
        reason: `its prompt (${legacyId}) is not imported (see the template's reason)`,
      });
    return template;
  };
  const prompts = new Map(rows.llm_prompt.map((row) => [String(row.id), row]));
  const choiceRows = [...rows.post_substage_action, ...rows.post_workflow_step_action];
  const actionInputs = (variables: readonly string[], inputField: string | null, where: string): Mapping => {
    const mapping: Mapping = {};
    const unmapped: string[] = [];
    for (const name of variables) {
      const own = fieldRef(name);
      if (own) mapping[name] = { from: 'post_field', field: own };
      else unmapped.push(name);
    }
    const input = inputField ? fieldRef(inputField) : null;
    // The legacy runtime sent the chosen input field as the action's one input.
    if (input && unmapped.length === 1) mapping[unmapped.shift() as string] = { from: 'post_field', field: input };
    if (unmapped.length > 0)
      notes.push({
        kind: 'action',
        legacy_id: where,
        message: `variables ${unmapped.join(', ')} have no legacy field to read: map them on the action before running it`,
      });
    return mapping;
  };
  const actionIds = new Map<string, { inputs: Mapping; target: string; variables: readonly string[] }>();
  for (const action of rows.llm_action) {
    const id = String(action.id);
    const where = `llm_action:${id}`;
    const prompt = prompts.get(String(action.prompt_template_id));
    const template = templateOf(
      isParts(prompt?.prompt_json) ? `prompt:${String(prompt?.id)}` : `action:${id}`,
      `llm_action ${id}`,
      'action',
    );
    if (!template) continue;
    const model = resolveModel(snapshot, text(action.llm_model), action.provider_id, where, notes, 'action');
    const uses = choiceRows.filter((row) => String(row.action_id) === id && live.has(String(row.post_id)));
    const substages = [
      ...uses.map((row) =>
        row.substage != null
          ? (SUBSTAGE_ALIASES[keyOf(text(row.substage))] ?? keyOf(text(row.substage)))
          : stepSubstage(row.step_id),
      ),
      ...rows.substage_action_default.filter((row) => String(row.action_id) === id).map((row) => keyOf(text(row.substage))),
    ].filter((key): key is string => Boolean(key));
    const outputName = text(action.output_field) || uses.map((row) => text(row.output_field)).find(Boolean) || '';
    const target = outputName ? fieldRef(outputName) : null;
    if (!target) {
      skipped.push({
        kind: 'action',
        table: 'llm_action',
        legacy_id: id,
        reason: outputName
          ? `its output field "${outputName}" is not a post_development column`
          : 'it names no output field, and no post chose one for it: add the action by hand with its target field',
      });
      continue;
    }
    const substage = substages[0] ?? mappedSubstage.get(outputName) ?? 'idea';
    const inputField = text(action.input_field) || uses.map((row) => text(row.input_field)).find(Boolean) || null;
    const inputs = actionInputs(template.variables, inputField, where);
    request.actions.push({
      legacy_id: where,
      label: (text(action.field_name) || `Legacy action ${id}`).slice(0, 100),
      substage_key: substage,
      template_id: template.id,
      template_label: 'legacy',
      model_id: (model && answered.models.get(model)) ?? null,
      preset_id: answered.presets.get(`action:${id}`) ?? null,
      inputs,
      target_field: target,
      mode: 'review',
    });
    actionIds.set(where, { inputs, target, variables: template.variables });
  }
  for (const auto of stepAutomations(snapshot)) {
    const id = String(auto.step.id);
    const where = `step:${id}`;
    const template = templateOf(where, `workflow_step_entity ${id}`, 'action');
    if (!template) continue;
    const target = auto.output ? fieldRef(auto.output.field, auto.output.table) : null;
    const substage = substageKey.get(String(auto.step.sub_stage_id));
    if (!target || !substage) {
      skipped.push({
        kind: 'action',
        table: 'workflow_step_entity',
        legacy_id: id,
        reason: !target
          ? 'its LLM settings name no output field that is a legacy column'
          : 'its substage is not a legacy substage row',
      });
      continue;
    }
    const targetScope = auto.output?.table === 'post_section' ? 'section' : 'post';
    const inputs: Mapping = {};
    const unmapped: string[] = [];
    for (const name of template.variables) {
      const source = auto.inputs.find((i) => i.field === name);
      const key = fieldRef(name, source?.table);
      if (key && source?.table === 'post_section' && targetScope === 'section')
        inputs[name] = { from: 'section_field', field: key };
      else if (key && source?.table !== 'post_section') inputs[name] = { from: 'post_field', field: key };
      else unmapped.push(name);
    }
    if (unmapped.length > 0)
      notes.push({
        kind: 'action',
        legacy_id: where,
        message: `variables ${unmapped.join(', ')} have no legacy field to read: map them on the action before running it`,
      });
    const model = text(auto.llm.model) ? resolveModel(snapshot, text(auto.llm.model), null, where, notes, 'action') : null;
    request.actions.push({
      legacy_id: where,
      label: (text(auto.step.name) || `Step ${id}`).slice(0, 100),
      substage_key: substage,
      template_id: template.id,
      template_label: 'legacy',
      model_id: (model && answered.models.get(model)) ?? null,
      preset_id: answered.presets.get(where) ?? null,
      inputs,
      target_field: target,
      mode: 'review',
    });
    actionIds.set(where, { inputs, target, variables: template.variables });
  }

  // Posts with their values and sections.
  const values = (row: Row | undefined, table: 'post_development' | 'post_section') =>
    Object.entries(row ?? {})
      .filter(([column, value]) => !NOT_FIELDS.has(column) && hasValue(value))
      .map(([column, value]) => ({ field: table === 'post_section' ? sectionKey(column) : column, value }))
      .filter(({ field }) => fields.has(field));
  for (const post of livePosts) {
    const id = String(post.id);
    const status = text(post.status);
    request.posts.push({
      legacy_id: id,
      title: (text(post.title) || `Legacy post ${id}`).slice(0, 200),
      slug: text(post.slug),
      status: (['draft', 'in_process', 'published', 'archived'].includes(status) ? status : 'draft') as PostIn['status'],
      substage_key: post.substage_id != null ? (substageKey.get(String(post.substage_id)) ?? null) : null,
      values: values(
        rows.post_development.find((row) => String(row.post_id) === id),
        'post_development',
      ),
      sections: rows.post_section
        .filter((row) => String(row.post_id) === id)
        .sort((a, b) => Number(a.section_order ?? 0) - Number(b.section_order ?? 0) || Number(a.id) - Number(b.id))
        .map((row, index) => ({
          legacy_id: String(row.id),
          position: index + 1,
          values: [...values(row, 'post_section'), ...elementValues(String(row.id))],
        })),
    });
  }

  // Per-post choices, where they map to an imported action.
  for (const [table, list] of [
    ['post_substage_action', rows.post_substage_action],
    ['post_workflow_step_action', rows.post_workflow_step_action],
  ] as const)
    for (const row of list) {
      if (!live.has(String(row.post_id))) continue;
      const actionKey = row.action_id != null ? `llm_action:${String(row.action_id)}` : `step:${String(row.step_id)}`;
      const action = actionIds.get(actionKey);
      if (!action) {
        skipped.push({ kind: 'choice', table, legacy_id: String(row.id), reason: `its action (${actionKey}) is not imported` });
        continue;
      }
      const inputField = text(row.input_field);
      const inputs = inputField ? actionInputs(action.variables, inputField, actionKey) : null;
      const output = text(row.output_field) ? fieldRef(text(row.output_field)) : null;
      request.choices.push({
        legacy_id: `${table}:${String(row.id)}`,
        post_legacy_id: String(row.post_id),
        action_legacy_id: actionKey,
        inputs: inputs && JSON.stringify(inputs) !== JSON.stringify(action.inputs) ? inputs : null,
        target_field: output && output !== action.target ? output : null,
      });
    }

  request.fields = [...fields.values()];
  return plan;
}
