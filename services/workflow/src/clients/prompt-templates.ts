import { getTemplate, previewTemplate } from '@llmops/kit/contracts/prompt';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import type { FieldProblem } from '@llmops/kit/problem';

/** The template an action pins: a version, a label, or neither (the latest published version at run time). */
export interface TemplatePin {
  template_id: string;
  template_version: number | null;
  template_label: string | null;
}

/**
 * Every problem of an action's template and input mapping, asked of the prompt service through its
 * contract when the action is saved (not first when it runs): the template exists and is published, the
 * version or label it pins exists, the mapping gives every variable the pinned version needs (declared
 * required ones without a default, and any it uses without declaring) and names none it neither declares
 * nor uses. What a version needs is the prompt service's own rule: a preview with no inputs lists each
 * missing variable, so nothing here re-implements it. A label can move later and the runner still checks
 * every run; this catches the mistakes made while defining the action.
 */
export async function templateProblems(
  prompt: ServiceClient,
  pin: TemplatePin,
  mapping: Record<string, unknown>,
  { at, requestId }: { at: string; requestId: string },
): Promise<FieldProblem[]> {
  const template = await prompt.call(getTemplate, { params: { id: pin.template_id }, requestId, onBehalfOf: 'service:workflow' });
  if (!template.ok || template.body.deleted_at !== null)
    return [{ field: `${at}.template_id`, message: template.ok ? 'this template was deleted' : 'no such template' }];
  const { latest_version: latest, labels } = template.body;
  if (latest === null)
    return [{ field: `${at}.template_id`, message: 'this template has no published version yet: publish it first' }];
  let version = latest;
  if (pin.template_version !== null) {
    if (pin.template_version > latest)
      return [
        {
          field: `${at}.template_version`,
          message: `this template has no version ${pin.template_version} (latest is ${latest})`,
        },
      ];
    version = pin.template_version;
  } else if (pin.template_label !== null) {
    const label = labels.find((l) => l.name === pin.template_label);
    if (!label) {
      const names = labels.map((l) => l.name);
      return [
        {
          field: `${at}.template_label`,
          message: `this template has no label ${pin.template_label} (${names.length > 0 ? `its labels: ${names.join(', ')}` : 'it has no labels'})`,
        },
      ];
    }
    version = label.version;
  }

  const preview = await prompt.call(previewTemplate, {
    params: { id: pin.template_id },
    body: { version, inputs: {} },
    requestId,
    onBehalfOf: 'service:workflow',
  });
  if (!preview.ok)
    return [{ field: `${at}.template_id`, message: preview.problem.detail ?? `the prompt service refused version ${version}` }];
  const problems: FieldProblem[] = [];
  const needed = new Set(
    preview.body.problems.filter((p) => p.code === 'missing_variable' && p.variable !== null).map((p) => p.variable as string),
  );
  for (const name of needed)
    if (!Object.hasOwn(mapping, name))
      problems.push({
        field: `${at}.inputs.${name}`,
        message: `version ${version} of the template needs ${name}: map it to a field, a post attribute or a literal`,
      });
  const known = new Set([...preview.body.declared_variables.map((v) => v.name), ...preview.body.variables.map((v) => v.name)]);
  for (const name of Object.keys(mapping))
    if (!known.has(name))
      problems.push({
        field: `${at}.inputs.${name}`,
        message: `version ${version} of the template has no variable ${name} (it takes: ${[...known].join(', ') || 'none'})`,
      });
  return problems;
}
