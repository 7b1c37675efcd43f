import type { Schemas } from '#lib/api/client.ts';

type Template = Pick<Schemas['PromptTemplateSummary'], 'labels' | 'latest_version'>;
type Pinned = Pick<Schemas['WorkflowAction'], 'template_version' | 'template_label'>;

/** One choice of the template version select: '' follows the latest published version. */
export interface PinChoice {
  value: string;
  label: string;
}

/** An action's pin as the select's value: `version:N`, `label:name`, or '' for the latest published version. */
export function pinOf(action: Pinned): string {
  if (action.template_version !== null) return `version:${action.template_version}`;
  if (action.template_label !== null) return `label:${action.template_label}`;
  return '';
}

/**
 * What an action may follow of its template besides the latest published version: each label, then each
 * published version, newest first. A pin the template no longer lists (a label since removed) is kept as a
 * choice, so saving an action's other settings never changes its pin unasked.
 */
export function pinChoices(template: Template | undefined, current?: Pinned): PinChoice[] {
  const labels = (template?.labels ?? []).map((label) => ({
    value: `label:${label.name}`,
    label: `Label ${label.name} (v${label.version})`,
  }));
  const versions = Array.from(
    { length: template?.latest_version ?? 0 },
    (_, index) => (template?.latest_version ?? 0) - index,
  ).map((version) => ({ value: `version:${version}`, label: `Version ${version}, pinned` }));
  const choices = [...labels, ...versions];
  const kept = current ? pinOf(current) : '';
  if (kept && !choices.some((choice) => choice.value === kept))
    choices.unshift({
      value: kept,
      label: `${kept.startsWith('label:') ? `Label ${kept.slice(6)}` : `Version ${kept.slice(8)}`} (not listed now)`,
    });
  return choices;
}

/** The select's value as the API's pin fields (none: the latest published version). */
export function pinFields(ref: string): { template_version?: number; template_label?: string } {
  const [kind = '', ...rest] = ref.split(':');
  const name = rest.join(':');
  if (kind === 'version' && Number.isInteger(Number(name)) && Number(name) > 0) return { template_version: Number(name) };
  if (kind === 'label' && name) return { template_label: name };
  return {};
}
