import { type Exchange, sse, unixNow } from './exchange.ts';
import { replyFor, stableId, textOf } from './reply.ts';
import type { EmulatorModel } from './models.ts';
import { chatProblem, imageProblem } from './openai-requests.ts';
import type { RequestProblem } from './problem.ts';

/** A 1×1 transparent PNG: what every emulated image is. */
export const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

function error(status: number, message: string, type: string, code: string | null, param: string | null = null) {
  return { status, body: { error: { message, type, param, code } } };
}

/** OpenAI's error bodies, by status; `echo` is appended to the message (a server that echoes the key). */
export function openaiError(status: number, key?: string, echo = '') {
  const e = openaiErrorOf(status, key);
  e.body.error.message += echo;
  return e;
}

function openaiErrorOf(status: number, key?: string) {
  switch (status) {
    case 401:
      return error(
        401,
        `Incorrect API key provided: ${mask(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        'invalid_api_key',
      );
    case 403:
      return error(403, 'You are not allowed to sample from this model', 'invalid_request_error', 'model_not_allowed');
    case 429:
      return error(
        429,
        'Rate limit reached for requests per min (RPM). Please try again later.',
        'requests',
        'rate_limit_exceeded',
      );
    case 503:
    case 529:
      return error(status, 'The engine is currently overloaded, please try again later.', 'server_error', null);
    default:
      if (status >= 500)
        return error(status, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
      return error(status, 'Invalid request.', 'invalid_request_error', null);
  }
}

function mask(key: string | undefined): string {
  if (!key) return '';
  return key.length <= 8
    ? '*'.repeat(key.length)
    : `${key.slice(0, 3)}${'*'.repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`;
}

export async function handleOpenai(
  x: Exchange,
  models: EmulatorModel[],
  checkKey: (key: string | undefined) => boolean,
): Promise<void> {
  const auth = x.header('authorization');
  const key = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
  if (!key) {
    const e = error(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error',
      null,
    );
    return x.json(e.status, e.body);
  }
  if (!checkKey(key)) {
    const e = openaiError(401, key);
    return x.json(e.status, e.body);
  }
  if (x.req.method === 'GET' && x.path === '/v1/models') {
    return x.json(200, {
      object: 'list',
      data: models.map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: 'emulator' })),
    });
  }
  if (x.req.method === 'POST' && x.path === '/v1/chat/completions') return chat(x, models);
  if (x.req.method === 'POST' && x.path === '/v1/images/generations') return images(x, models);
  const e = error(404, `Invalid URL (${x.req.method} ${x.path})`, 'invalid_request_error', null);
  return x.json(404, e.body);
}

/** No body, or one that is not JSON: what OpenAI says then. */
function bodyProblem(x: Exchange): RequestProblem {
  return x.record.raw === ''
    ? { param: null, code: 'missing_required_parameter', message: 'you must provide a model parameter' }
    : {
        param: null,
        code: 'invalid_json',
        message:
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.",
      };
}

function modelProblem(x: Exchange, models: EmulatorModel[], modality: EmulatorModel['modality']) {
  const model = x.body.model;
  if (typeof model !== 'string' || model === '')
    return error(400, 'you must provide a model parameter', 'invalid_request_error', null, 'model');
  const found = models.find((m) => m.id === model);
  if (!found || found.modality !== modality)
    return error(
      404,
      `The model \`${model}\` does not exist or you do not have access to it.`,
      'invalid_request_error',
      'model_not_found',
    );
  return undefined;
}

/** OpenAI's 400 for a request its reference (or its prose) refuses. */
function refuse(x: Exchange, problem: RequestProblem): Promise<void> {
  return x.json(400, error(400, problem.message, 'invalid_request_error', problem.code, problem.param).body);
}

async function chat(x: Exchange, models: EmulatorModel[]): Promise<void> {
  const invalid = x.record.raw === '' || x.record.body === null ? bodyProblem(x) : chatProblem(x.record.body);
  if (invalid) return refuse(x, invalid);
  const problem = modelProblem(x, models, 'chat');
  if (problem) return x.json(problem.status, problem.body);
  const body = x.body;
  const messages = body.messages as { role?: string; content?: unknown }[];
  const system = messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => textOf(m.content))
    .join('\n');
  const format = (body.response_format as { type?: string } | undefined)?.type;
  const stop = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? (body.stop as string[]) : undefined;
  const reply = replyFor({
    messages: messages
      .filter((m) => m.role !== 'system' && m.role !== 'developer')
      .map((m) => ({ role: m.role ?? '', text: textOf(m.content) })),
    system,
    echo: x.echoInReply(),
    maxTokens: (body.max_completion_tokens ?? body.max_tokens) as number | undefined,
    stop,
    json: format === 'json_object' || format === 'json_schema',
  });
  const id = `chatcmpl-emu${stableId(x.record.raw)}`;
  const created = unixNow();
  const model = body.model as string;
  const finish = reply.finish === 'length' ? 'length' : 'stop';
  const usage = {
    prompt_tokens: reply.inputTokens,
    completion_tokens: reply.outputTokens,
    total_tokens: reply.inputTokens + reply.outputTokens,
    prompt_tokens_details: { cached_tokens: reply.cachedTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  const headers = { 'x-request-id': `req_emu${stableId(id)}`, 'openai-processing-ms': '1' };
  if (body.stream !== true) {
    return x.json(
      200,
      {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: reply.text, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: finish,
          },
        ],
        usage,
        service_tier: 'default',
        system_fingerprint: 'fp_emulator',
      },
      headers,
    );
  }
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const head = {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    service_tier: 'default',
    system_fingerprint: 'fp_emulator',
  };
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
    ...head,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const frames = [
    sse(chunk({ role: 'assistant', content: '', refusal: null }, null)),
    ...reply.chunks.map((text) => sse(chunk({ content: text }, null))),
    sse(chunk({}, finish)),
  ];
  if (includeUsage) frames.push(sse({ ...head, choices: [], usage }));
  frames.push(sse('[DONE]'));
  return x.stream('text/event-stream; charset=utf-8', frames, headers, (status) => sse(openaiError(status).body));
}

async function images(x: Exchange, models: EmulatorModel[]): Promise<void> {
  const invalid = x.record.raw === '' || x.record.body === null ? bodyProblem(x) : imageProblem(x.record.body);
  if (invalid) return refuse(x, invalid);
  const problem = modelProblem(x, models, 'image');
  if (problem) return x.json(problem.status, problem.body);
  const prompt = x.body.prompt as string;
  const n = typeof x.body.n === 'number' ? x.body.n : 1;
  return x.json(200, {
    created: unixNow(),
    data: Array.from({ length: n }, () => ({ b64_json: PNG_1X1, revised_prompt: `An image of: ${prompt}` })),
    usage: {
      input_tokens: prompt.split(/\s+/).filter(Boolean).length,
      output_tokens: 272 * n,
      total_tokens: prompt.split(/\s+/).filter(Boolean).length + 272 * n,
      input_tokens_details: { text_tokens: prompt.split(/\s+/).filter(Boolean).length, image_tokens: 0 },
    },
  });
}
