import type { Schemas } from '../api/client.ts';
import type { ShownProblem } from '../problem.ts';

type TaskCreate = Schemas['TaskCreate'];

/** The runner form's fields, as `formText` reads them. */
export interface RunForm {
  get: (name: string) => string;
  all: (name: string) => string[];
}

export type Built =
  { body: TaskCreate; values: Record<string, string> } | { problem: ShownProblem; values: Record<string, string> };

/**
 * The runner form → a task request (`POST /api/v1/tasks`): a template (a version number or a label) or
 * ad-hoc messages, the inputs as a JSON object, one model or several (a task group), a preset and its
 * overrides. What the reader typed wrongly comes back beside its field, before the API is asked.
 */
export function runRequest(form: RunForm): Built {
  const values: Record<string, string> = {
    source: form.get('source') === 'messages' ? 'messages' : 'template',
    template_id: form.get('template_id'),
    template_ref: form.get('template_ref').trim(),
    system: form.get('system'),
    user: form.get('user'),
    render: form.get('render') === 'on' ? 'on' : '',
    inputs: form.get('inputs'),
    model_ids: form.all('model_ids').join(','),
    preset_id: form.get('preset_id'),
    temperature: form.get('temperature').trim(),
    max_output_tokens: form.get('max_output_tokens').trim(),
  };
  const fields: Record<string, string> = {};
  const body: TaskCreate = { inputs: {}, priority: 0, render: false };

  if (values.source === 'template') {
    if (!values.template_id) fields.template_id = 'Choose a template, or write messages instead.';
    else body.template_id = values.template_id;
    const ref = values.template_ref ?? '';
    if (/^\d+$/.test(ref)) body.version = Number(ref);
    else if (ref) body.label = ref;
  } else {
    const messages: TaskCreate['messages'] = [];
    if (values.system?.trim()) messages.push({ role: 'system', content: values.system });
    if (values.user?.trim()) messages.push({ role: 'user', content: values.user });
    if (!values.user?.trim()) fields.user = 'Write the user message.';
    body.messages = messages;
    if (values.render) body.render = true;
  }

  const inputs = (values.inputs ?? '').trim();
  if (inputs) {
    try {
      const parsed: unknown = JSON.parse(inputs);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        fields.inputs = 'Expected a JSON object, e.g. {"topic": "sourdough"}.';
      else body.inputs = parsed as Record<string, unknown>;
    } catch {
      fields.inputs = 'Expected a JSON object, e.g. {"topic": "sourdough"}.';
    }
  }

  const models = form.all('model_ids').filter(Boolean);
  if (models.length === 1) body.model_id = models[0];
  else if (models.length > 1) body.model_ids = models;
  if (values.preset_id) body.preset_id = values.preset_id;

  const parameters: NonNullable<TaskCreate['parameters']> = {};
  if (values.temperature) {
    const temperature = Number(values.temperature);
    if (!Number.isFinite(temperature) || temperature < 0 || temperature > 2) fields.temperature = 'Expected 0 to 2.';
    else parameters.temperature = temperature;
  }
  if (values.max_output_tokens) {
    const tokens = Number(values.max_output_tokens);
    if (!Number.isInteger(tokens) || tokens < 1) fields.max_output_tokens = 'Expected a whole number of tokens, at least 1.';
    else parameters.max_output_tokens = tokens;
  }
  if (Object.keys(parameters).length > 0) body.parameters = parameters;

  if (Object.keys(fields).length > 0) return { problem: { detail: 'Some fields need a change.', fields }, values };
  return { body, values };
}
