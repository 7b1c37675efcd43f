import { z } from '@hono/zod-openapi';
import { KINDS } from './kinds.ts';
import { RULE_PARAMETERS, type RuleParameter } from './rule-parameters.ts';
import type { ProviderKind } from './types.ts';

/**
 * A model's rules (docs/model-rules.md): which normalized parameters it takes and in what
 * ranges, parameters it takes only one of (Claude 4.5-era models: temperature or top_p), parameters it
 * takes only under a condition (gpt-5.1: sampling only when reasoning_effort is none), whether it is a
 * reasoning model, and for image models how many images, which sizes and qualities. The registry copies
 * them from its model families (sql/registry) when a model is created or imported; each model keeps its
 * own copy, editable through the API. The parameter checker (parameters.ts) reads them.
 */

export { RULE_PARAMETERS, type RuleParameter };

const Parameter = z.enum(RULE_PARAMETERS);

export const ParameterRuleSchema = z
  .object({
    min: z.number().optional(),
    max: z.number().optional(),
    values: z
      .array(z.string().min(1).max(50))
      .min(1, 'expected at least one value')
      .max(20)
      .optional()
      .openapi({ description: 'The values it takes (`reasoning_effort`; `response_format` by its type).' }),
    max_items: z.number().int().min(1).max(100).optional().openapi({ description: 'Most items of a list (`stop`).' }),
  })
  .strict()
  .refine((rule) => rule.min === undefined || rule.max === undefined || rule.min <= rule.max, {
    message: 'expected min ≤ max',
    path: ['max'],
  })
  .openapi('ParameterRule');

const ImageSize = z
  .string()
  .regex(/^\d{2,5}x\d{2,5}$/, 'expected WIDTHxHEIGHT such as 1024x1024')
  .openapi({ example: '1024x1024' });

export const ImageRulesSchema = z
  .object({
    n_max: z.number().int().min(1).max(100).nullable().openapi({ description: 'Most images per request; null: not checked.' }),
    sizes: z
      .array(ImageSize)
      .min(1)
      .max(30)
      .nullable()
      .openapi({ description: 'The sizes it makes; null: any size is passed on.' }),
    qualities: z
      .array(z.string().min(1).max(20))
      .min(1)
      .max(10)
      .nullable()
      .openapi({ description: 'The qualities it takes; null: any quality is passed on.' }),
  })
  .strict()
  .openapi('ImageRules');

export const ModelRulesSchema = z
  .object({
    reasoning: z.boolean().openapi({
      description:
        'A reasoning model (OpenAI o-series, gpt-5 family): system messages go in the `developer` role, and it is sent only the parameters below.',
    }),
    system_messages: z.boolean().optional().openapi({
      description:
        'false: the model takes no system (or developer) message (OpenAI o1-mini, o1-preview), so a task whose conversation has one is refused; absent or true: it takes them.',
    }),
    parameters: z
      .partialRecord(Parameter, ParameterRuleSchema)
      .openapi({ description: 'The parameters it takes, each with its range; a parameter not named here is refused.' }),
    exclusive: z
      .array(z.array(Parameter).min(2, 'expected at least two parameters').max(10))
      .max(10)
      .openapi({ description: 'Groups of parameters it takes at most one of, e.g. `[["temperature", "top_p"]]`.' }),
    conditions: z
      .array(
        z
          .object({
            parameters: z.array(Parameter).min(1).max(10),
            when: z.object({ parameter: Parameter, values: z.array(z.string().min(1).max(50)).min(1).max(20) }).strict(),
          })
          .strict(),
      )
      .max(10)
      .openapi({
        description:
          'Parameters it takes only when another is given with one of some values, e.g. sampling only when `reasoning_effort` is `none`.',
      }),
    image: z.union([ImageRulesSchema, z.null()]).openapi({ description: 'Image models: n, sizes and qualities.' }),
  })
  .strict()
  .openapi('ModelRules');

export type ParameterRule = z.output<typeof ParameterRuleSchema>;
export type ImageRules = z.output<typeof ImageRulesSchema>;
export type ModelRules = z.output<typeof ModelRulesSchema>;

/**
 * The kind's permissive default: everything its protocol has, in the protocol's ranges, nothing
 * exclusive, not a reasoning model, and any image option passed on (n up to the protocol's most). What a
 * model gets when its id matches no family.
 */
export function defaultRules(kind: ProviderKind, modality: 'chat' | 'image'): ModelRules {
  const spec = KINDS[kind];
  if (modality === 'image')
    return {
      reasoning: false,
      parameters: {},
      exclusive: [],
      conditions: [],
      image: { n_max: spec.maxImages, sizes: null, qualities: null },
    };
  const parameters: ModelRules['parameters'] = {};
  for (const name of RULE_PARAMETERS) {
    const rule = spec.parameters[name];
    if (!rule) continue;
    const copy: ParameterRule = { ...rule, values: rule.values ? [...rule.values] : undefined };
    if (!copy.values) delete copy.values;
    if (name === 'stop') copy.max_items = spec.maxStop;
    if (name === 'response_format') copy.values = [...spec.responseFormats];
    parameters[name] = copy;
  }
  return { reasoning: false, parameters, exclusive: [], conditions: [], image: null };
}

/**
 * What rules the kind's protocol cannot carry (a parameter the kind has not, a range wider than the
 * protocol's), each on its field under `field`: the registry refuses such rules, so a model's rules never
 * promise what its adapter cannot send.
 */
export function rulesProblems(kind: ProviderKind, rules: ModelRules, field: string): { field: string; message: string }[] {
  const spec = KINDS[kind];
  const problems: { field: string; message: string }[] = [];
  const named = new Set<RuleParameter>();
  for (const [name, rule] of Object.entries(rules.parameters) as [RuleParameter, ParameterRule][]) {
    named.add(name);
    const protocol = spec.parameters[name];
    const at = `${field}.parameters.${name}`;
    if (!protocol) {
      problems.push({ field: at, message: `${spec.label} has no ${name}` });
      continue;
    }
    if (protocol.min !== undefined && rule.min !== undefined && rule.min < protocol.min)
      problems.push({ field: `${at}.min`, message: `${spec.label} takes ${name} from ${protocol.min}` });
    if (protocol.max !== undefined && rule.max !== undefined && rule.max > protocol.max)
      problems.push({ field: `${at}.max`, message: `${spec.label} takes ${name} up to ${protocol.max}` });
    const known = name === 'response_format' ? spec.responseFormats : protocol.values;
    for (const value of rule.values ?? [])
      if (known && !(known as readonly string[]).includes(value))
        problems.push({ field: `${at}.values`, message: `${spec.label} has no ${name} ${value} (it has ${known.join(', ')})` });
  }
  rules.exclusive.forEach((group, index) => {
    for (const name of group)
      if (!named.has(name))
        problems.push({ field: `${field}.exclusive[${index}]`, message: `${name} is not among the parameters the model takes` });
  });
  rules.conditions.forEach((condition, index) => {
    if (!named.has(condition.when.parameter))
      problems.push({
        field: `${field}.conditions[${index}].when.parameter`,
        message: `${condition.when.parameter} is not among the parameters the model takes`,
      });
  });
  if (rules.image && !spec.images) problems.push({ field: `${field}.image`, message: `${spec.label} generates no images` });
  return problems;
}
