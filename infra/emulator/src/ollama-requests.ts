/**
 * What Ollama's `POST /api/chat` takes, written from its API reference (docs/api.md): the request's
 * fields and the `options` it reads (the Modelfile parameters). Ollama itself drops a field or option it
 * does not know with a warning in its log; the emulator refuses them, so a parameter mapped to a name
 * Ollama would silently ignore fails a test instead of losing the setting. Its error shape:
 * `{ "error": "..." }`.
 */
import { z } from 'zod';
import type { RequestProblem } from './problem.ts';

const Message = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  thinking: z.string().optional(),
  images: z.array(z.string()).optional(),
  tool_calls: z.array(z.looseObject({})).optional(),
  tool_name: z.string().optional(),
});

export const Options = z.strictObject({
  num_keep: z.int().optional(),
  seed: z.int().optional(),
  num_predict: z.int().optional(),
  top_k: z.int().optional(),
  top_p: z.number().optional(),
  min_p: z.number().optional(),
  typical_p: z.number().optional(),
  repeat_last_n: z.int().optional(),
  temperature: z.number().optional(),
  repeat_penalty: z.number().optional(),
  presence_penalty: z.number().optional(),
  frequency_penalty: z.number().optional(),
  penalize_newline: z.boolean().optional(),
  stop: z.array(z.string()).optional(),
  numa: z.boolean().optional(),
  num_ctx: z.int().optional(),
  num_batch: z.int().optional(),
  num_gpu: z.int().optional(),
  main_gpu: z.int().optional(),
  use_mmap: z.boolean().optional(),
  num_thread: z.int().optional(),
});

export const ChatRequest = z.strictObject({
  model: z.string().min(1),
  messages: z.array(Message).optional(),
  tools: z.array(z.looseObject({})).optional(),
  format: z.union([z.literal(''), z.literal('json'), z.record(z.string(), z.unknown())]).optional(),
  options: Options.optional(),
  stream: z.boolean().optional(),
  keep_alive: z.union([z.string(), z.number()]).optional(),
  think: z.union([z.boolean(), z.enum(['low', 'medium', 'high'])]).optional(),
  logprobs: z.boolean().optional(),
  top_logprobs: z.int().optional(),
});

/** The request's problem, worded as Ollama's JSON decoder and handlers word theirs, or null. */
export function chatProblem(body: unknown): RequestProblem | null {
  const parsed = ChatRequest.safeParse(body);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = [path, issue.keys[0]].filter(Boolean).join('.');
    return { param: key, code: 'unknown_field', message: `invalid option provided: ${key} (Ollama would ignore it)` };
  }
  if (path === 'model') return { param: path, code: 'missing', message: 'model is required' };
  if (issue.code === 'invalid_type')
    return {
      param: path,
      code: 'invalid_type',
      message: `json: cannot unmarshal ${typeof issue.input} into Go struct field ChatRequest.${path} of type ${issue.expected}`,
    };
  return { param: path, code: 'invalid_value', message: `invalid ${path}: ${issue.message}` };
}
