/**
 * What Anthropic's Messages API (`POST /v1/messages`) accepts, written from its API reference, with the
 * rules it states in prose: `max_tokens` is required, `messages` is not empty, `temperature` and `top_p`
 * may not both be given to the 4.5-era models (claude-*-4-1 and later). A request that breaks one gets
 * Anthropic's own 400: `{ type: "error", error: { type: "invalid_request_error", message } }`.
 */
import { z } from 'zod';
import { baseId } from './openai-requests.ts';
import type { RequestProblem } from './problem.ts';

const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const Block = z.looseObject({ type: z.string() });

const Message = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(Block).min(1)]),
});

export const MessagesRequest = z.strictObject({
  model: z.string().min(1),
  max_tokens: z.int().min(1),
  messages: z.array(Message).min(1),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  metadata: z.strictObject({ user_id: z.string().nullable().optional() }).optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_k: z.int().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  thinking: z.looseObject({ type: z.enum(['enabled', 'disabled', 'adaptive']) }).optional(),
  tools: z.array(z.looseObject({})).optional(),
  tool_choice: z.looseObject({ type: z.string() }).optional(),
  output_config: z
    .strictObject({
      format: z.strictObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).optional(),
      effort: z.enum(['low', 'medium', 'high', 'max']).optional(),
    })
    .optional(),
  service_tier: z.enum(['auto', 'standard_only']).optional(),
  container: z.unknown().optional(),
  context_management: z.unknown().optional(),
  mcp_servers: z.array(z.looseObject({})).optional(),
});

/** The 4.5-era models and later (claude-opus-4-1, claude-sonnet-4-5, claude-haiku-4-5 …): one of temperature or top_p. */
export function samplingExclusive(model: string): boolean {
  return /^claude-[a-z]+-(4-[1-9]|[5-9])(-|$)/.test(baseId(model));
}

/** Anthropic words an issue as `path: what is wrong` (its validator's own phrases). */
function messageOf(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${[path, issue.keys[0]].filter(Boolean).join('.')}: Extra inputs are not permitted`;
    case 'invalid_type':
      return issue.input === undefined ? `${path}: Field required` : `${path}: Input should be a valid ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `${path}: List should have at least ${String(issue.minimum)} item after validation, not 0`
        : `${path}: Input should be greater than or equal to ${String(issue.minimum)}`;
    case 'too_big':
      return `${path}: Input should be less than or equal to ${String(issue.maximum)}`;
    case 'invalid_value':
      return `${path}: Input should be ${issue.values.map((v) => `'${String(v)}'`).join(' or ')}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

/** The request's problem, as Anthropic states it, or null when Anthropic would take it. */
export function messagesProblem(body: unknown): RequestProblem | null {
  const parsed = MessagesRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    return { param: issue.path.map(String).join('.'), code: 'invalid_request_error', message: messageOf(issue) };
  }
  const request = parsed.data;
  if (request.temperature !== undefined && request.top_p !== undefined && samplingExclusive(request.model))
    return {
      param: 'temperature',
      code: 'invalid_request_error',
      message: '`temperature` and `top_p` cannot both be specified for this model. Please use only one.',
    };
  return null;
}
