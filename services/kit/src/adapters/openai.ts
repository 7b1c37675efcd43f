import OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase, ChatCompletionChunk, ChatCompletion } from 'openai/resources/chat/completions';
import { Attempt } from './attempt.ts';
import { SdkClients } from './clients.ts';
import { ProviderError } from './errors.ts';
import { cutStream, normalizeError } from './normalize.ts';
import type { ChatRequest, ChatResult, FinishReason, ProviderAdapter, ProviderConnection, RemoteModel, Usage } from './types.ts';

/** One SDK client per connection, reused by every attempt (its requests go through the running attempt's fetch). */
const clients = new SdkClients(
  (connection) =>
    new OpenAI({
      // OpenAI-compatible local servers take no key; the SDK insists on one, and they ignore it.
      apiKey: connection.apiKey || 'no-key',
      baseURL: connection.baseUrl,
      organization: connection.organization ?? null,
      project: connection.project ?? null,
      defaultHeaders: connection.headers ?? {},
      maxRetries: 0,
      fetch: Attempt.fetch,
    }),
);

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
};

function usageOf(usage: OpenAI.CompletionUsage | null | undefined): Usage {
  return {
    input_tokens: usage?.prompt_tokens ?? 0,
    output_tokens: usage?.completion_tokens ?? 0,
    cached_input_tokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

export type MaxTokensField = NonNullable<ProviderConnection['maxTokensField']>;

/**
 * The body field of the output cap: the provider's setting, else `max_completion_tokens` for OpenAI
 * itself (which deprecated `max_tokens` and refuses it for reasoning models) and `max_tokens` for every
 * other base URL (llama.cpp before early 2026, Ollama's `/v1` and llama-cpp-python ignore the newer field;
 * docs/providers.md).
 */
export function maxTokensFieldOf(
  connection: Pick<ProviderConnection, 'baseUrl' | 'maxTokensField'>,
  reasoning = false,
): MaxTokensField {
  if (connection.maxTokensField) return connection.maxTokensField;
  // A reasoning model (an OpenAI o-series or gpt-5 model by its rules) refuses `max_tokens` wherever it is
  // served from: behind a proxy or Azure, as at api.openai.com.
  if (reasoning) return 'max_completion_tokens';
  return URL.canParse(connection.baseUrl) && new URL(connection.baseUrl).hostname === 'api.openai.com'
    ? 'max_completion_tokens'
    : 'max_tokens';
}

/**
 * The wire body of a chat request: normalized parameters onto OpenAI's names. A reasoning model gets its
 * system messages in the `developer` role (what OpenAI's reasoning models take) and `reasoning_effort`
 * when given.
 */
export function openaiChatBody(
  request: ChatRequest,
  maxTokensField: MaxTokensField = 'max_completion_tokens',
): ChatCompletionCreateParamsBase {
  const p = request.parameters ?? {};
  const body: ChatCompletionCreateParamsBase = {
    model: request.model,
    messages: request.messages.map((m) =>
      m.role === 'system' && request.reasoning
        ? { role: 'developer' as const, content: m.content }
        : { role: m.role, content: m.content },
    ),
  };
  if (p.reasoning_effort !== undefined) body.reasoning_effort = p.reasoning_effort;
  if (p.temperature !== undefined) body.temperature = p.temperature;
  if (p.top_p !== undefined) body.top_p = p.top_p;
  if (p.max_output_tokens !== undefined) body[maxTokensField] = p.max_output_tokens;
  if (p.stop !== undefined) body.stop = p.stop;
  if (p.seed !== undefined) body.seed = p.seed;
  if (p.presence_penalty !== undefined) body.presence_penalty = p.presence_penalty;
  if (p.frequency_penalty !== undefined) body.frequency_penalty = p.frequency_penalty;
  const format = p.response_format;
  if (format?.type === 'json_object') body.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.strict === undefined ? {} : { strict: format.strict }),
      },
    };
  }
  return body;
}

/**
 * Whether a listed model makes images. OpenAI's model list does not say, so the id does: `dall-e-3`,
 * `gpt-image-1`, `chatgpt-image-latest`, `imagen-4`, or any id with `image` as a word of its own.
 */
export function modalityOf(id: string): 'chat' | 'image' {
  return /(^|[^a-z])(dall-e|image|imagen)([^a-z]|$)/i.test(id) ? 'image' : 'chat';
}

/** OpenAI chat completions, images and models; also every OpenAI-compatible server by base URL. */
export const openaiAdapter: ProviderAdapter = {
  kind: 'openai',

  async chat(connection, request, options) {
    const attempt = new Attempt(options);
    return attempt.run(async () => {
      const api = clients.get(connection);
      const body = openaiChatBody(request, maxTokensFieldOf(connection, request.reasoning));
      try {
        if (request.stream === false) {
          const completion: ChatCompletion = await api.chat.completions.create(
            { ...body, stream: false },
            { signal: attempt.signal, maxRetries: 0 },
          );
          const choice = completion.choices[0];
          const text = choice?.message.content ?? '';
          attempt.delta(text);
          return result(attempt, text, choice?.finish_reason ?? null, usageOf(completion.usage), completion.id);
        }
        const stream = await api.chat.completions.create(
          { ...body, stream: true, stream_options: { include_usage: true } },
          { signal: attempt.signal, maxRetries: 0 },
        );
        let text = '';
        let finish: string | null = null;
        let usage: Usage | undefined;
        let id: string | null = null;
        for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
          id ??= chunk.id;
          attempt.receivedData();
          const choice = chunk.choices[0];
          const delta = choice?.delta?.content ?? '';
          if (delta) {
            text += delta;
            attempt.delta(delta);
          }
          if (choice?.finish_reason) finish = choice.finish_reason;
          if (chunk.usage) usage = usageOf(chunk.usage);
        }
        if (finish === null) throw cutStream('its finish reason');
        return result(attempt, text, finish, usage ?? usageOf(null), id);
      } catch (error) {
        throw normalizeError(error, attempt);
      }
    });
  },

  async generateImage(connection, request, options) {
    const attempt = new Attempt(options);
    return attempt.run(async () => {
      const api = clients.get(connection);
      try {
        const response = await api.images.generate(
          {
            model: request.model,
            prompt: request.prompt,
            ...(request.n === undefined ? {} : { n: request.n }),
            ...(request.size === undefined ? {} : { size: request.size as OpenAI.ImageGenerateParams['size'] }),
            ...(request.quality === undefined ? {} : { quality: request.quality as OpenAI.ImageGenerateParams['quality'] }),
            // DALL·E answers URLs unless asked for b64_json; the gpt-image models answer b64_json and refuse the field.
            ...(/dall-e/i.test(request.model) ? { response_format: 'b64_json' as const } : {}),
          },
          { signal: attempt.signal, maxRetries: 0 },
        );
        const format = response.output_format ?? 'png';
        const images = (response.data ?? []).map((image) => {
          if (!image.b64_json)
            throw new ProviderError({ kind: 'server', message: 'the provider returned an image without data' });
          return {
            data: Buffer.from(image.b64_json, 'base64'),
            mime_type: `image/${format}`,
            revised_prompt: image.revised_prompt ?? null,
          };
        });
        const usage = response.usage
          ? {
              input_tokens: response.usage.input_tokens,
              output_tokens: response.usage.output_tokens,
              cached_input_tokens: 0,
            }
          : null;
        return { images, usage, latency_ms: attempt.elapsed(), wire: attempt.sent() };
      } catch (error) {
        throw normalizeError(error, attempt);
      }
    });
  },

  async listModels(connection, options) {
    const attempt = new Attempt(options);
    return attempt.run(async () => {
      const api = clients.get(connection);
      try {
        const models: RemoteModel[] = [];
        for await (const model of api.models.list({ signal: attempt.signal, maxRetries: 0 })) {
          models.push({
            id: model.id,
            display_name: null,
            modality: modalityOf(model.id),
            created_at: typeof model.created === 'number' ? new Date(model.created * 1000).toISOString() : null,
            details: { owned_by: model.owned_by },
          });
        }
        return models;
      } catch (error) {
        throw normalizeError(error, attempt);
      }
    });
  },
};

function result(attempt: Attempt, text: string, finish: string | null, usage: Usage, id: string | null): ChatResult {
  return {
    text,
    finish_reason: finish ? (FINISH[finish] ?? 'other') : 'other',
    provider_finish_reason: finish,
    usage,
    time_to_first_token_ms: attempt.timeToFirstToken(),
    latency_ms: attempt.elapsed(),
    response_id: id,
    wire: attempt.sent(),
  };
}
