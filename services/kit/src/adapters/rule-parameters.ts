/**
 * The normalized parameters a model's rules may name, in the order presets, the docs and the dashboard list
 * them (docs/model-rules.md). A module of its own, with no imports, so the dashboard's browser code can use
 * the list without bundling the rules' schemas (rules.ts).
 */
export const RULE_PARAMETERS = [
  'temperature',
  'top_p',
  'top_k',
  'max_output_tokens',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'response_format',
  'reasoning_effort',
] as const;
export type RuleParameter = (typeof RULE_PARAMETERS)[number];
