import { type Exchange, ndjson } from './exchange.ts';
import type { EmulatorModel } from './models.ts';
import { chatProblem } from './ollama-requests.ts';
import { replyFor, stableId } from './reply.ts';

/** Ollama's error body: `{ "error": "..." }`; `echo` is appended to it. */
export function ollamaError(status: number, message?: string, echo = '') {
  const text =
    message ??
    (status === 401
      ? 'unauthorized'
      : status === 429
        ? 'too many requests'
        : status === 503
          ? 'server busy, please try again'
          : 'internal server error');
  return { status, body: { error: `${text}${echo}` } };
}

export async function handleOllama(
  x: Exchange,
  models: EmulatorModel[],
  checkKey: (key: string | undefined) => boolean,
  keyRequired: boolean,
): Promise<void> {
  if (keyRequired) {
    const auth = x.header('authorization');
    if (!checkKey(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)) {
      const e = ollamaError(401);
      return x.json(e.status, e.body);
    }
  }
  if (x.req.method === 'GET' && x.path === '/api/tags') {
    return x.json(200, {
      models: models.map((m) => ({
        name: m.id,
        model: m.id,
        modified_at: new Date(m.created * 1000).toISOString(),
        size: 4_661_224_676,
        digest: stableId(m.id).repeat(8),
        details: {
          parent_model: '',
          format: 'gguf',
          family: 'llama',
          families: ['llama'],
          parameter_size: '8.0B',
          quantization_level: 'Q4_0',
        },
      })),
    });
  }
  if (x.req.method === 'POST' && x.path === '/api/chat') return chat(x, models);
  const e = ollamaError(404, '404 page not found');
  return x.json(404, e.body);
}

async function chat(x: Exchange, models: EmulatorModel[]): Promise<void> {
  const body = x.body;
  const model = body.model as string;
  if (x.record.body === null)
    return x.json(400, ollamaError(400, x.record.raw === '' ? 'missing request body' : 'invalid JSON').body);
  const problem = chatProblem(x.record.body);
  if (problem) return x.json(400, ollamaError(400, problem.message).body);
  if (!models.some((m) => m.id === model || m.id === `${model}:latest`))
    return x.json(404, ollamaError(404, `model "${model}" not found, try pulling it first`).body);
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: string }[]) : [];
  const options = (body.options ?? {}) as { num_predict?: number; stop?: string[] };
  const reply = replyFor({
    messages: messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role ?? '', text: m.content ?? '' })),
    system: messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content ?? '')
      .join('\n'),
    echo: x.echoInReply(),
    maxTokens: options.num_predict !== undefined && options.num_predict >= 0 ? options.num_predict : undefined,
    stop: options.stop,
    json: body.format !== undefined && body.format !== '',
  });
  const createdAt = new Date().toISOString();
  const done = {
    model,
    created_at: createdAt,
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: reply.finish === 'length' ? 'length' : 'stop',
    total_duration: 1_000_000,
    load_duration: 100_000,
    prompt_eval_count: reply.inputTokens,
    prompt_eval_duration: 200_000,
    eval_count: reply.outputTokens,
    eval_duration: 700_000,
  };
  if (body.stream === false) return x.json(200, { ...done, message: { role: 'assistant', content: reply.text } });
  const frames = [
    ...reply.chunks.map((text) =>
      ndjson({ model, created_at: createdAt, message: { role: 'assistant', content: text }, done: false }),
    ),
    ndjson(done),
  ];
  return x.stream('application/x-ndjson', frames, {}, (status) => ndjson(ollamaError(status).body));
}
