/**
 * What OpenAI accepts, written from its API reference (Chat Completions `POST /v1/chat/completions`,
 * Images `POST /v1/images/generations`) with the rules it states in prose: reasoning models take no
 * sampling parameters unless `reasoning_effort` is `none` where the model has it, `dall-e-3` makes one
 * image at a time in its own sizes and qualities, `dall-e-2` has its own sizes. A request that breaks one
 * gets OpenAI's own 400: `{ error: { message, type: "invalid_request_error", param, code } }`.
 */
import { z } from 'zod';
import { issueOf, type RequestProblem } from './problem.ts';

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const TextPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(z.union([TextPart, z.looseObject({ type: z.string() })])).min(1)]);

const Message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('developer'), content: Content, name: z.string().optional() }),
  z.strictObject({ role: z.literal('system'), content: Content, name: z.string().optional() }),
  z.strictObject({ role: z.literal('user'), content: Content, name: z.string().optional() }),
  z.strictObject({
    role: z.literal('assistant'),
    content: Content.nullable().optional(),
    name: z.string().optional(),
    refusal: z.string().nullable().optional(),
    tool_calls: z.array(z.looseObject({})).optional(),
    audio: z.looseObject({}).nullable().optional(),
    function_call: z.looseObject({}).nullable().optional(),
  }),
  z.strictObject({ role: z.literal('tool'), content: Content, tool_call_id: z.string() }),
  z.strictObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() }),
]);

const ResponseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be a-z, A-Z, 0-9, underscores and dashes, at most 64 characters'),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;

export const ChatCompletionRequest = z.strictObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  audio: nullable(z.looseObject({})),
  frequency_penalty: nullable(z.number().min(-2).max(2)),
  function_call: z.unknown().optional(),
  functions: z.array(z.looseObject({})).optional(),
  logit_bias: nullable(z.record(z.string(), z.int().min(-100).max(100))),
  logprobs: nullable(z.boolean()),
  max_completion_tokens: nullable(z.int().min(1)),
  max_tokens: nullable(z.int().min(1)),
  metadata: nullable(z.record(z.string(), z.string())),
  modalities: nullable(z.array(z.enum(['text', 'audio']))),
  n: nullable(z.int().min(1).max(128)),
  parallel_tool_calls: z.boolean().optional(),
  prediction: nullable(z.looseObject({})),
  presence_penalty: nullable(z.number().min(-2).max(2)),
  prompt_cache_key: nullable(z.string()),
  prompt_cache_retention: nullable(z.enum(['in-memory', '24h'])),
  reasoning_effort: nullable(z.enum(REASONING_EFFORTS)),
  response_format: ResponseFormat.optional(),
  safety_identifier: nullable(z.string()),
  seed: nullable(z.int()),
  service_tier: nullable(z.enum(['auto', 'default', 'flex', 'scale', 'priority'])),
  stop: nullable(z.union([z.string(), z.array(z.string()).min(1).max(4)])),
  store: nullable(z.boolean()),
  stream: nullable(z.boolean()),
  stream_options: nullable(
    z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }),
  ),
  temperature: nullable(z.number().min(0).max(2)),
  tool_choice: z.unknown().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  top_logprobs: nullable(z.int().min(0).max(20)),
  top_p: nullable(z.number().min(0).max(1)),
  user: z.string().optional(),
  verbosity: nullable(z.enum(['low', 'medium', 'high'])),
  web_search_options: z.looseObject({}).optional(),
});

export const ImageRequest = z.strictObject({
  prompt: z.string().min(1),
  model: nullable(z.string()),
  n: nullable(z.int().min(1).max(10)),
  size: nullable(z.string()),
  quality: nullable(z.string()),
  response_format: nullable(z.enum(['url', 'b64_json'])),
  style: nullable(z.enum(['vivid', 'natural'])),
  background: nullable(z.enum(['transparent', 'opaque', 'auto'])),
  moderation: nullable(z.enum(['low', 'auto'])),
  output_format: nullable(z.enum(['png', 'jpeg', 'webp'])),
  output_compression: nullable(z.int().min(0).max(100)),
  partial_images: nullable(z.int().min(0).max(3)),
  stream: nullable(z.boolean()),
  user: z.string().optional(),
});

/** The model id without the emulator's `emu-` prefix: `emu-gpt-5-mini` follows gpt-5-mini's rules. */
export const baseId = (model: string) => model.replace(/^emu-/, '');

interface ReasoningFamily {
  efforts: readonly string[];
  /** Sampling parameters are accepted when reasoning_effort is `none` (gpt-5.1 and later). */
  samplingWhenNone: boolean;
}

/** The reasoning families (o-series, gpt-5 family), by model id; null for a model that does not reason. */
export function reasoningFamily(model: string): ReasoningFamily | null {
  const id = baseId(model);
  if (/^o[134](-|$)/.test(id)) return { efforts: ['low', 'medium', 'high'], samplingWhenNone: false };
  if (/^gpt-5\.\d/.test(id)) return { efforts: ['none', 'low', 'medium', 'high', 'xhigh'], samplingWhenNone: true };
  if (/^gpt-5(-|$)/.test(id) && !/^gpt-5-chat/.test(id))
    return { efforts: ['minimal', 'low', 'medium', 'high'], samplingWhenNone: false };
  return null;
}

const SAMPLING = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs', 'logit_bias'];

function unsupported(param: string, message?: string): RequestProblem {
  return {
    param,
    code: 'unsupported_parameter',
    message: message ?? `Unsupported parameter: '${param}' is not supported with this model.`,
  };
}

/** A message's text: its string, or its text parts. */
function textOf(content: z.output<typeof Content> | null | undefined): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => (typeof part.text === 'string' ? part.text : '')).join('\n');
}

/** The chat request's problem, as OpenAI states it, or null when OpenAI would take it. */
export function chatProblem(body: unknown): RequestProblem | null {
  const parsed = ChatCompletionRequest.safeParse(body);
  if (!parsed.success) return issueOf(parsed.error);
  const request = parsed.data;
  if (request.stream_options != null && request.stream !== true)
    return {
      param: 'stream_options',
      code: 'invalid_value',
      message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
    };
  // "When using JSON mode, you must also instruct the model to produce JSON yourself via a system or user
  // message": the API answers 400 to a conversation that never says it.
  if (
    request.response_format?.type === 'json_object' &&
    !request.messages.some((message) => /json/i.test(textOf(message.content)))
  )
    return {
      param: 'messages',
      code: 'invalid_value',
      message: "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
    };
  // o1-mini and o1-preview take neither system nor developer messages (OpenAI's reasoning guide; the
  // later o-series take developer messages): the API answers 400 naming the message's role.
  if (/^o1-(mini|preview)(-|$)/.test(baseId(request.model))) {
    const at = request.messages.findIndex((message) => message.role === 'system' || message.role === 'developer');
    const role = request.messages[at]?.role;
    if (role)
      return {
        param: `messages[${at}].role`,
        code: 'unsupported_value',
        message: `Unsupported value: 'messages[${at}].role' does not support '${role}' with this model.`,
      };
  }
  const family = reasoningFamily(request.model);
  const given = (name: string) => (request as Record<string, unknown>)[name] != null;
  if (!family) {
    if (given('reasoning_effort')) return unsupported('reasoning_effort');
    return null;
  }
  const effort = request.reasoning_effort;
  if (effort != null && !family.efforts.includes(effort))
    return {
      param: 'reasoning_effort',
      code: 'unsupported_value',
      message: `Unsupported value: 'reasoning_effort' does not support '${effort}' with this model. Supported values are: ${family.efforts.map((e) => `'${e}'`).join(', ')}.`,
    };
  // "Not supported with latest reasoning models o3 and o4-mini" (StopConfiguration).
  if (given('stop') && /^(o3|o4-mini)(-|$)/.test(baseId(request.model))) return unsupported('stop');
  if (given('max_tokens'))
    return unsupported(
      'max_tokens',
      "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
    );
  const samplingAllowed = family.samplingWhenNone && effort === 'none';
  if (!samplingAllowed) {
    const sampling = SAMPLING.find(given);
    if (sampling) return unsupported(sampling);
  }
  return null;
}

interface ImageFamily {
  sizes: readonly string[];
  qualities: readonly string[];
  maxN: number;
  maxPrompt: number;
  responseFormat: boolean;
}

/** The image families the reference documents; an unknown model takes what any of them takes. */
export function imageFamily(model: string): ImageFamily {
  const id = baseId(model);
  if (id.startsWith('dall-e-3'))
    return {
      sizes: ['1024x1024', '1792x1024', '1024x1792'],
      qualities: ['standard', 'hd'],
      maxN: 1,
      maxPrompt: 4000,
      responseFormat: true,
    };
  if (id.startsWith('dall-e-2'))
    return {
      sizes: ['256x256', '512x512', '1024x1024'],
      qualities: ['standard'],
      maxN: 10,
      maxPrompt: 1000,
      responseFormat: true,
    };
  if (/^(gpt-image|chatgpt-image)/.test(id))
    return {
      sizes: ['auto', '1024x1024', '1536x1024', '1024x1536'],
      qualities: ['auto', 'low', 'medium', 'high'],
      maxN: 10,
      maxPrompt: 32000,
      responseFormat: false,
    };
  return {
    sizes: ['auto', '256x256', '512x512', '1024x1024', '1536x1024', '1024x1536', '1792x1024', '1024x1792'],
    qualities: ['auto', 'standard', 'hd', 'low', 'medium', 'high'],
    maxN: 10,
    maxPrompt: 32000,
    responseFormat: true,
  };
}

/** The image request's problem, as OpenAI states it, or null when OpenAI would take it. */
export function imageProblem(body: unknown): RequestProblem | null {
  const parsed = ImageRequest.safeParse(body);
  if (!parsed.success) return issueOf(parsed.error);
  const request = parsed.data;
  const model = request.model ?? 'dall-e-2';
  const family = imageFamily(model);
  const label = baseId(model);
  if (request.n != null && request.n > family.maxN)
    return {
      param: 'n',
      code: 'invalid_value',
      message:
        family.maxN === 1
          ? `Invalid 'n': integer above maximum value. Expected a value <= 1, but got ${request.n} instead. ${label} supports only n=1.`
          : `Invalid 'n': integer above maximum value. Expected a value <= ${family.maxN}, but got ${request.n} instead.`,
    };
  if (request.size != null && !family.sizes.includes(request.size))
    return {
      param: 'size',
      code: 'invalid_value',
      message: `Invalid value: '${request.size}'. Supported values are: ${family.sizes.map((s) => `'${s}'`).join(', ')}.`,
    };
  if (request.quality != null && !family.qualities.includes(request.quality))
    return {
      param: 'quality',
      code: 'invalid_value',
      message: `Invalid value: '${request.quality}'. Supported values are: ${family.qualities.map((q) => `'${q}'`).join(', ')}.`,
    };
  if (request.style != null && /^(dall-e-2|gpt-image|chatgpt-image)/.test(label)) return unsupported('style');
  // "Only supported for the GPT image models."
  const gptOnly = ['output_format', 'output_compression', 'stream', 'partial_images', 'background', 'moderation'] as const;
  const notGpt = gptOnly.find((name) => request[name] != null);
  if (notGpt && /^dall-e/.test(label)) return unsupported(notGpt);
  if (request.response_format != null && !family.responseFormat)
    return unsupported('response_format', "Unknown parameter: 'response_format'.");
  if (request.prompt.length > family.maxPrompt)
    return {
      param: 'prompt',
      code: 'string_above_max_length',
      message: `Invalid 'prompt': string too long. Expected a string with maximum length ${family.maxPrompt}, but got a string with length ${request.prompt.length} instead.`,
    };
  return null;
}
