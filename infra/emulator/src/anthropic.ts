import { type Exchange, sse } from './exchange.ts';
import { messagesProblem } from './anthropic-requests.ts';
import type { EmulatorModel } from './models.ts';
import { replyFor, stableId, textOf } from './reply.ts';

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const MESSAGES: Record<string, string> = {
  authentication_error: 'invalid x-api-key',
  permission_error: 'Your API key does not have permission to use the specified resource.',
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
  api_error: 'Internal server error',
  overloaded_error: 'Overloaded',
};

/** Anthropic's error body: `{ type: "error", error: { type, message }, request_id }`; `echo` is appended to the message. */
export function anthropicError(status: number, message?: string, echo = '') {
  const type = TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  const requestId = `req_emu${stableId(`${status}${Date.now()}${Math.random()}`)}`;
  return {
    status,
    body: {
      type: 'error',
      error: { type, message: `${message ?? MESSAGES[type] ?? 'Invalid request'}${echo}` },
      request_id: requestId,
    },
    headers: { 'request-id': requestId, 'x-should-retry': String(status === 429 || status >= 500) },
  };
}

async function fail(x: Exchange, status: number, message?: string): Promise<void> {
  const e = anthropicError(status, message);
  return x.json(e.status, e.body, e.headers);
}

export async function handleAnthropic(
  x: Exchange,
  models: EmulatorModel[],
  checkKey: (key: string | undefined) => boolean,
): Promise<void> {
  // The API takes the key as `x-api-key` (the classic header) or as a bearer token (what SDK 1.x sends).
  const key = x.key;
  if (!key) return fail(x, 401, 'x-api-key header is required');
  if (!checkKey(key)) return fail(x, 401, 'invalid x-api-key');
  if (!x.header('anthropic-version')) return fail(x, 400, 'anthropic-version: header is required');
  if (x.req.method === 'GET' && x.path === '/v1/models') {
    return x.json(200, {
      data: models.map((m) => ({
        type: 'model',
        id: m.id,
        display_name: m.displayName,
        created_at: new Date(m.created * 1000).toISOString(),
        max_input_tokens: 200_000,
        max_tokens: 64_000,
      })),
      has_more: false,
      first_id: models[0]?.id ?? null,
      last_id: models.at(-1)?.id ?? null,
    });
  }
  if (x.req.method === 'POST' && x.path === '/v1/messages') return messages(x, models);
  return fail(x, 404, `Not found: ${x.req.method} ${x.path}`);
}

async function messages(x: Exchange, models: EmulatorModel[]): Promise<void> {
  const body = x.body;
  if (x.record.body === null) return fail(x, 400, 'There was an error parsing the body of your request as JSON.');
  const problem = messagesProblem(x.record.body);
  if (problem) return fail(x, 400, problem.message);
  const list = body.messages as { role?: string; content?: unknown }[];
  if (!models.some((m) => m.id === body.model)) return fail(x, 404, `model: ${String(body.model)}`);
  const system = typeof body.system === 'string' ? body.system : textOf(body.system);
  const reply = replyFor({
    messages: list.map((m) => ({ role: m.role ?? '', text: textOf(m.content) })),
    system,
    echo: x.echoInReply(),
    maxTokens: body.max_tokens as number,
    stop: Array.isArray(body.stop_sequences) ? (body.stop_sequences as string[]) : undefined,
    json: typeof body.output_config === 'object' && body.output_config !== null && 'format' in body.output_config,
  });
  const id = `msg_emu${stableId(x.record.raw)}`;
  const stopReason = reply.finish === 'length' ? 'max_tokens' : reply.finish === 'stop_sequence' ? 'stop_sequence' : 'end_turn';
  const stopSequence = reply.finish === 'stop_sequence' ? ((body.stop_sequences as string[]).find((s) => s) ?? null) : null;
  const inputTokens = reply.inputTokens - reply.cachedTokens;
  const headers = { 'request-id': `req_emu${stableId(id)}` };
  if (body.stream !== true) {
    return x.json(
      200,
      {
        id,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [{ type: 'text', text: reply.text }],
        stop_reason: stopReason,
        stop_sequence: stopSequence,
        usage: {
          input_tokens: inputTokens,
          output_tokens: reply.outputTokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: reply.cachedTokens,
        },
      },
      headers,
    );
  }
  const frames = [
    sse(
      {
        type: 'message_start',
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model: body.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: inputTokens,
            output_tokens: 1,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: reply.cachedTokens,
          },
        },
      },
      'message_start',
    ),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sse({ type: 'ping' }, 'ping'),
    ...reply.chunks.map((text) =>
      sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta'),
    ),
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse(
      {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: stopSequence },
        usage: { output_tokens: reply.outputTokens },
      },
      'message_delta',
    ),
    sse({ type: 'message_stop' }, 'message_stop'),
  ];
  return x.stream('text/event-stream; charset=utf-8', frames, headers, (status) => {
    const { type, error } = anthropicError(status).body;
    return sse({ type, error }, 'error');
  });
}
