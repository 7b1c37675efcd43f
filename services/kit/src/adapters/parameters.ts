import { fieldPath, type FieldProblem } from '../problem.ts';
import { KINDS } from './kinds.ts';
import { defaultRules, type ModelRules, type ParameterRule } from './rules.ts';
import type { ChatParameters, ImageRequest, ProviderKind } from './types.ts';

/**
 * The one parameter checker (ADR 0011): the registry runs it on a preset's model and each fallback, the
 * runner on every model a task may run on, so both refuse the same parameters with the same words. Rules
 * of one model (a provider that narrows a range for one model, say) go here too, never in a caller.
 */

/** What the checker needs of a model: the registry's row and the runner's copy of it both have it. */
export interface CheckedModel {
  display_name: string;
  provider_kind: ProviderKind;
  modality: 'chat' | 'image';
  /** The model's `capabilities.json_output`. */
  supports_json: boolean;
  /** The most tokens the model writes; null when the registry does not know. */
  max_output_tokens: number | null;
  /** The model's own rules (rules.ts); null or absent: the kind's permissive default. */
  rules?: ModelRules | null;
}

/** The model's rules, or its kind's permissive default when it has none. */
export function rulesOf(model: Pick<CheckedModel, 'provider_kind' | 'modality' | 'rules'>): ModelRules {
  return model.rules ?? defaultRules(model.provider_kind, model.modality);
}

/** Parameters about the call, not the sampling: every kind and modality takes them. */
export const TIMEOUT_PARAMETERS = ['first_byte_timeout_ms', 'idle_timeout_ms'] as const;
type TimeoutParameter = (typeof TIMEOUT_PARAMETERS)[number];

/** The parameters without the timeouts: what the provider's request is made from. */
export function samplingOf<T extends Record<string, unknown>>(parameters: T): Omit<T, TimeoutParameter> {
  const sampling: Record<string, unknown> = { ...parameters };
  for (const name of TIMEOUT_PARAMETERS) delete sampling[name];
  return sampling as Omit<T, TimeoutParameter>;
}

/**
 * Every problem of these parameters on this model, each on its field (`body.parameters.<name>`, where the
 * preset and task contracts both put them) and naming the model, or none when the model takes them all:
 * an image model takes no sampling parameter; a chat model takes what its provider's kind has, in the
 * kind's ranges, then what its own rules allow (their ranges, exclusive groups and conditions), JSON
 * output only when it has the capability, and no more output tokens than it writes.
 */
export function checkModelParameters(model: CheckedModel, parameters: Record<string, unknown>): FieldProblem[] {
  const which = `model "${model.display_name}" (${model.provider_kind})`;
  const sampling = samplingOf(parameters);
  const given = Object.keys(sampling).filter((name) => sampling[name] !== undefined);
  const field = (name: string) => fieldPath('body', 'parameters', name);
  if (model.modality === 'image')
    return given.map((name) => ({ field: field(name), message: `${which} generates images and takes no ${name}` }));

  const problems = kindProblems(model.provider_kind, sampling as ChatParameters).map((problem) => ({
    field: field(problem.parameter),
    message: `${problem.message} (${which})`,
  }));
  const refused = new Set(problems.map((problem) => problem.field));
  for (const problem of ruleProblems(model.display_name, rulesOf(model), sampling, given))
    if (!refused.has(field(problem.parameter))) problems.push({ field: field(problem.parameter), message: problem.message });
  const format = (sampling.response_format as ChatParameters['response_format'])?.type;
  const formatRefused = problems.some((problem) => problem.field === field('response_format'));
  if (format && format !== 'text' && !formatRefused && !model.supports_json)
    problems.push({
      field: field('response_format'),
      message: `${which} does not support JSON output (its capabilities.json_output is false)`,
    });
  const max = sampling.max_output_tokens;
  if (typeof max === 'number' && model.max_output_tokens !== null && max > model.max_output_tokens)
    problems.push({ field: field('max_output_tokens'), message: `${which} writes at most ${model.max_output_tokens} tokens` });
  return problems;
}

interface ParameterProblem {
  parameter: string;
  message: string;
}

/** `a`, `a or b`, `a, b or c`. */
function orList(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** The value a rule's `values` is checked against: the word itself, or a response format's type. */
function wordOf(name: string, value: unknown): string | undefined {
  if (name === 'response_format') return (value as { type?: string } | undefined)?.type;
  return typeof value === 'string' ? value : undefined;
}

/** What the model's rules refuse of the given parameters, each problem naming the model and the rule. */
function ruleProblems(
  displayName: string,
  rules: ModelRules,
  parameters: Record<string, unknown>,
  given: readonly string[],
): ParameterProblem[] {
  const which = `model "${displayName}"`;
  const problems: ParameterProblem[] = [];
  const accepted = rules.parameters as Partial<Record<string, ParameterRule>>;
  for (const name of given) {
    const rule = accepted[name];
    const value = parameters[name];
    if (!rule) {
      problems.push({
        parameter: name,
        message: rules.reasoning ? `${which} is a reasoning model and takes no ${name}` : `${which} takes no ${name} (its rules)`,
      });
      continue;
    }
    if (
      typeof value === 'number' &&
      ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max))
    )
      problems.push({ parameter: name, message: `${which} takes ${name} from ${rule.min ?? '-∞'} to ${rule.max ?? '∞'}` });
    const word = wordOf(name, value);
    if (rule.values && word !== undefined && !rule.values.includes(word))
      problems.push({ parameter: name, message: `${which} takes ${name} ${orList(rule.values)}, not ${word}` });
    if (rule.max_items !== undefined && Array.isArray(value) && value.length > rule.max_items)
      problems.push({ parameter: name, message: `${which} takes at most ${rule.max_items} ${name} items` });
  }
  for (const group of rules.exclusive) {
    const both = group.filter((name) => given.includes(name));
    if (both.length > 1)
      problems.push({
        parameter: both.at(-1) as string,
        message:
          group.length === 2 ? `${which} takes ${orList(group)}, not both` : `${which} takes only one of ${group.join(', ')}`,
      });
  }
  for (const { parameters: names, when } of rules.conditions) {
    const word = wordOf(when.parameter, parameters[when.parameter]);
    if (word !== undefined && when.values.includes(word)) continue;
    for (const name of names.filter((each) => given.includes(each)))
      problems.push({ parameter: name, message: `${which} takes ${name} only when ${when.parameter} is ${orList(when.values)}` });
  }
  return problems;
}

/**
 * Every problem of these image options on this model, each on its field (`body.image.<name>`): more
 * images than it makes at once, a size or a quality it does not have. Options its rules leave open (a
 * custom model's) are passed on as given.
 */
export function checkImageOptions(
  model: Pick<CheckedModel, 'display_name' | 'provider_kind' | 'modality' | 'rules'>,
  image: Pick<ImageRequest, 'n' | 'size' | 'quality'> | null | undefined,
): FieldProblem[] {
  const rules = rulesOf(model).image;
  if (!image || !rules) return [];
  const which = `model "${model.display_name}"`;
  const field = (name: string) => fieldPath('body', 'image', name);
  const problems: FieldProblem[] = [];
  if (image.n !== undefined && rules.n_max !== null && image.n > rules.n_max)
    problems.push({
      field: field('n'),
      message:
        rules.n_max === 1 ? `${which} makes one image per request` : `${which} makes at most ${rules.n_max} images per request`,
    });
  if (image.size !== undefined && rules.sizes && !rules.sizes.includes(image.size))
    problems.push({ field: field('size'), message: `${which} makes images of ${orList(rules.sizes)}, not ${image.size}` });
  if (image.quality !== undefined && rules.qualities && !rules.qualities.includes(image.quality))
    problems.push({
      field: field('quality'),
      message: `${which} takes quality ${orList(rules.qualities)}, not ${image.quality}`,
    });
  return problems;
}

/** Every parameter the kind does not have, or has with a narrower range. */
function kindProblems(kind: ProviderKind, parameters: ChatParameters): ParameterProblem[] {
  const spec = KINDS[kind];
  const problems: ParameterProblem[] = [];
  for (const [name, value] of Object.entries(parameters) as [keyof ChatParameters, unknown][]) {
    if (value === undefined) continue;
    const rule = spec.parameters[name];
    if (!rule) {
      problems.push({ parameter: name, message: `${spec.label} does not support ${name}` });
      continue;
    }
    if (rule.values && typeof value === 'string' && !rule.values.includes(value))
      problems.push({ parameter: name, message: `${spec.label} has no ${name} ${value}` });
    if (typeof value === 'number') {
      if (rule.min !== undefined && value < rule.min)
        problems.push({
          parameter: name,
          message: `${spec.label} takes ${name} from ${rule.min}${rule.max === undefined ? '' : ` to ${rule.max}`}`,
        });
      else if (rule.max !== undefined && value > rule.max)
        problems.push({ parameter: name, message: `${spec.label} takes ${name} from ${rule.min ?? '-∞'} to ${rule.max}` });
    }
  }
  if (parameters.stop && parameters.stop.length > spec.maxStop)
    problems.push({ parameter: 'stop', message: `${spec.label} takes at most ${spec.maxStop} stop sequences` });
  const format = parameters.response_format?.type;
  if (format && !spec.responseFormats.includes(format))
    problems.push({ parameter: 'response_format', message: `${spec.label} does not support response_format ${format}` });
  return problems;
}

/** How a task retries on one model and backs off between attempts: a preset's `retry_policy`. */
export interface RetryPolicy {
  max_attempts: number;
  initial_backoff_ms: number;
  max_backoff_ms: number;
  backoff_multiplier: number;
}

/**
 * The one retry-policy default: what a preset gets when it names none (the contract's defaults), and
 * what a task runs with when it has no preset or its preset leaves a field out.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  max_attempts: 3,
  initial_backoff_ms: 1_000,
  max_backoff_ms: 60_000,
  backoff_multiplier: 2,
});
