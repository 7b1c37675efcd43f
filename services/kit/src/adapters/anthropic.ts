import Anthropic from '@anthropic-ai/sdk';
import type {
  Message,
  MessageCreateParamsBase,
  MessageParam,
  RawMessageStreamEvent,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { Attempt } from './attempt.ts';
import { SdkClients } from './clients.ts';
import { ProviderError } from './errors.ts';
import { cutStream, definedOnly, normalizeError } from './normalize.ts';
import type { ChatRequest, ChatResult, FinishReason, ProviderAdapter, Usage } from './types.ts';

/**
 * Anthropic's protocol requires max_tokens: the preset's `max_output_tokens`, else the model's own
 * maximum (`request.defaultMaxOutputTokens`, from the registry), else this.
 */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/** One SDK client per connection, reused by every attempt (its requests go through the running attempt's fetch). */
const clients = new SdkClients(
  (connection) =>
    new Anthropic({
      apiKey: connection.apiKey ?? null,
      authToken: null,
      baseURL: connection.baseUrl,
      defaultHeaders: connection.headers ?? {},
      maxRetries: 0,
      fetch: Attempt.fetch,
    }),
);

const FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** Anthropic counts cache reads and writes apart from input_tokens; normalized input includes them. */
function usageOf(usage: AnthropicUsage): Usage {
  const cached = usage.cache_read_input_tokens ?? 0;
  return {
    input_tokens: (usage.input_tokens ?? 0) + cached + (usage.cache_creation_input_tokens ?? 0),
    output_tokens: usage.output_tokens ?? 0,
    cached_input_tokens: cached,
  };
}

/**
 * Sampling parameters the Messages API takes for the models that still have them. SDK 1.x's request types
 * no longer list them (newer Claude models refuse them); a model that refuses answers a 400 (bad_request).
 */
export interface AnthropicSampling {
  temperature?: number;
  top_p?: number;
  top_k?: number;
}

export type AnthropicMessageBody = MessageCreateParamsBase & AnthropicSampling;

/**
 * The wire body: system messages go to Anthropic's `system` field, the rest stay in order. Each part is
 * written as a literal checked against the SDK's own request type (`satisfies`), so a field the API does
 * not have fails the type check.
 */
export function anthropicMessageBody(request: ChatRequest): AnthropicMessageBody {
  const p = request.parameters ?? {};
  const format = p.response_format;
  if (
    format?.type === 'json_object' ||
    p.seed !== undefined ||
    p.presence_penalty !== undefined ||
    p.frequency_penalty !== undefined
  ) {
    throw new ProviderError({
      kind: 'bad_request',
      message: 'Anthropic has no JSON-object mode, seed, or presence/frequency penalty; use a JSON schema or another provider',
    });
  }
  const system = request.messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const body = {
    model: request.model,
    max_tokens: p.max_output_tokens ?? request.defaultMaxOutputTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages: request.messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }) satisfies MessageParam),
    system: system || undefined,
    stop_sequences: p.stop,
    output_config: format?.type === 'json_schema' ? { format: { type: 'json_schema', schema: format.schema } } : undefined,
  } satisfies MessageCreateParamsBase;
  const sampling = { temperature: p.temperature, top_p: p.top_p, top_k: p.top_k } satisfies AnthropicSampling;
  return definedOnly({ ...body, ...sampling });
}

/** Anthropic's Messages API. */
export const anthropicAdapter: ProviderAdapter = {
  kind: 'anthropic',

  async chat(connection, request, options) {
    const attempt = new Attempt(options);
    return attempt.run(async () => {
      try {
        const body = anthropicMessageBody(request);
        const api = clients.get(connection);
        if (request.stream === false) {
          const message: Message = await api.messages.create(
            { ...body, stream: false },
            { signal: attempt.signal, maxRetries: 0 },
          );
          const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
          attempt.delta(text);
          return result(attempt, text, message.stop_reason, usageOf(message.usage), message.id);
        }
        const stream = await api.messages.create({ ...body, stream: true }, { signal: attempt.signal, maxRetries: 0 });
        let text = '';
        let id: string | null = null;
        let stop: string | null = null;
        let usage: AnthropicUsage = {};
        let ended = false;
        for await (const event of stream as AsyncIterable<RawMessageStreamEvent>) {
          attempt.receivedData();
          switch (event.type) {
            case 'message_start':
              id = event.message.id;
              usage = { ...event.message.usage };
              break;
            case 'content_block_delta':
              if (event.delta.type === 'text_delta') {
                text += event.delta.text;
                attempt.delta(event.delta.text);
              }
              break;
            case 'message_delta':
              stop = event.delta.stop_reason ?? stop;
              usage = { ...usage, ...definedOnly((event.usage ?? {}) as AnthropicUsage) };
              break;
            case 'message_stop':
              ended = true;
              break;
            default:
              break;
          }
        }
        if (!ended) throw cutStream('message_stop');
        return result(attempt, text, stop, usageOf(usage), id);
      } catch (error) {
        throw normalizeError(error, attempt);
      }
    });
  },

  generateImage() {
    return Promise.reject(new ProviderError({ kind: 'bad_request', message: 'Anthropic has no image generation' }));
  },

  async listModels(connection, options) {
    const attempt = new Attempt(options);
    return attempt.run(async () => {
      try {
        const api = clients.get(connection);
        const models = [];
        for await (const model of api.models.list({}, { signal: attempt.signal, maxRetries: 0 })) {
          const info = model as typeof model & { max_input_tokens?: number | null; max_tokens?: number | null };
          models.push({
            id: model.id,
            display_name: model.display_name ?? null,
            created_at: model.created_at ?? null,
            modality: 'chat' as const,
            details: {
              ...(info.max_input_tokens ? { context_window: info.max_input_tokens } : {}),
              ...(info.max_tokens ? { max_output_tokens: info.max_tokens } : {}),
            },
          });
        }
        return models;
      } catch (error) {
        throw normalizeError(error, attempt);
      }
    });
  },
};

function result(attempt: Attempt, text: string, stop: string | null, usage: Usage, id: string | null): ChatResult {
  return {
    text,
    finish_reason: stop ? (FINISH[stop] ?? 'other') : 'other',
    provider_finish_reason: stop,
    usage,
    time_to_first_token_ms: attempt.timeToFirstToken(),
    latency_ms: attempt.elapsed(),
    response_id: id,
    wire: attempt.sent(),
  };
}
