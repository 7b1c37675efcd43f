import { Ollama, type ChatRequest as OllamaChatRequest, type Message, type Options } from 'ollama';
import { Attempt } from './attempt.ts';
import { kindOfStatus, ProviderError, type ProviderErrorKind } from './errors.ts';
import { cutStream, definedOnly, normalizeError } from './normalize.ts';
import type { ChatRequest, ChatResult, FinishReason, ProviderAdapter, ProviderConnection, Usage } from './types.ts';

function client(connection: ProviderConnection, attempt: Attempt): Ollama {
  const headers: Record<string, string> = { ...(connection.headers ?? {}) };
  // Ollama itself takes no key; one set here goes as a bearer token (ollama.com, or a proxy in front).
  if (connection.apiKey) headers.Authorization = `Bearer ${connection.apiKey}`;
  return new Ollama({ host: connection.baseUrl, headers, fetch: attempt.fetch() });
}

/**
 * The wire body: sampling parameters go inside `options`, where Ollama reads them (the legacy system
 * sent them at the top level, where Ollama ignores them). Written as literals checked against the SDK's
 * own request types (`satisfies`), so a field or option Ollama does not have fails the type check.
 */
export function ollamaChatBody(request: ChatRequest): OllamaChatRequest {
  const p = request.parameters ?? {};
  const options = definedOnly({
    temperature: p.temperature,
    top_p: p.top_p,
    top_k: p.top_k,
    num_predict: p.max_output_tokens,
    stop: p.stop,
    seed: p.seed,
    presence_penalty: p.presence_penalty,
    frequency_penalty: p.frequency_penalty,
  } satisfies Partial<Options>);
  const format = p.response_format;
  return definedOnly({
    model: request.model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content }) satisfies Message),
    options: Object.keys(options).length > 0 ? options : undefined,
    format: format?.type === 'json_object' ? 'json' : format?.type === 'json_schema' ? format.schema : undefined,
  } satisfies OllamaChatRequest);
}

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length' };

interface OllamaCounts {
  prompt_eval_count?: number;
  eval_count?: number;
}

function usageOf(counts: OllamaCounts): Usage {
  return { input_tokens: counts.prompt_eval_count ?? 0, output_tokens: counts.eval_count ?? 0, cached_input_tokens: 0 };
}

/** What the Ollama SDK throws when its stream ends without a `done` line (a cut stream, not an error line). */
const NO_DONE = 'Did not receive done or success response in stream.';

/**
 * Ollama's SDK throws ResponseError (error, status_code) for HTTP errors, a plain Error with the line's
 * text for an `{"error": ...}` line inside a stream, and the fetch's own errors for the network. Every
 * failure keeps the request the attempt sent, like the other adapters.
 */
function ollamaError(error: unknown, attempt: Attempt, streaming: boolean): ProviderError {
  const normalized = toOllamaError(error, attempt, streaming);
  normalized.wire ??= attempt.wire ?? null;
  return normalized;
}

function toOllamaError(error: unknown, attempt: Attempt, streaming: boolean): ProviderError {
  const aborted = attempt.abortError();
  if (aborted) return aborted;
  const response = error as { name?: string; status_code?: number; error?: string; message?: string };
  if (response?.name === 'ResponseError' && typeof response.status_code === 'number') {
    return new ProviderError({
      kind: kindOfStatus(response.status_code),
      status: response.status_code,
      message: response.error ?? response.message ?? 'error',
    });
  }
  if (streaming && error instanceof Error && error.constructor === Error && error.message !== NO_DONE) {
    return new ProviderError({ kind: kindOfLine(error.message), message: error.message });
  }
  if (error instanceof Error && error.message === NO_DONE) return cutStream('its final "done" line');
  return normalizeError(error, attempt);
}

/** Ollama's error lines carry only text; its busy and rate-limit texts are known, the rest is the server failing. */
function kindOfLine(text: string): ProviderErrorKind {
  if (/server busy|overloaded|maximum pending requests/i.test(text)) return 'overloaded';
  if (/too many requests|rate limit/i.test(text)) return 'rate_limit';
  return 'server';
}

/** Ollama's native API (/api/chat, /api/tags). */
export const ollamaAdapter: ProviderAdapter = {
  kind: 'ollama',

  async chat(connection, request, options) {
    const attempt = new Attempt(options);
    try {
      const api = client(connection, attempt);
      const body = ollamaChatBody(request);
      if (request.stream === false) {
        const response = await api.chat({ ...body, stream: false });
        attempt.delta(response.message.content);
        return result(attempt, response.message.content, response.done_reason ?? null, usageOf(response));
      }
      const stream = await api.chat({ ...body, stream: true });
      let text = '';
      let done: { done_reason?: string } & OllamaCounts = {};
      let ended = false;
      for await (const part of stream) {
        attempt.receivedData();
        if (part.message?.content) {
          text += part.message.content;
          attempt.delta(part.message.content);
        }
        if (part.done) {
          done = part;
          ended = true;
        }
      }
      if (!ended) throw cutStream('its final "done" line');
      return result(attempt, text, done.done_reason ?? null, usageOf(done));
    } catch (error) {
      throw ollamaError(error, attempt, request.stream !== false);
    } finally {
      attempt.finish();
    }
  },

  generateImage() {
    return Promise.reject(new ProviderError({ kind: 'bad_request', message: "Ollama's adapter has no image generation" }));
  },

  async listModels(connection, options) {
    const attempt = new Attempt(options);
    try {
      const api = client(connection, attempt);
      const { models } = await api.list();
      return models.map((model) => ({
        id: model.name,
        display_name: null,
        created_at: model.modified_at ? new Date(model.modified_at).toISOString() : null,
        modality: 'chat' as const,
        details: { size: model.size, family: model.details?.family, parameter_size: model.details?.parameter_size },
      }));
    } catch (error) {
      throw ollamaError(error, attempt, false);
    } finally {
      attempt.finish();
    }
  },
};

function result(attempt: Attempt, text: string, reason: string | null, usage: Usage): ChatResult {
  return {
    text,
    finish_reason: reason ? (FINISH[reason] ?? 'other') : 'other',
    provider_finish_reason: reason,
    usage,
    time_to_first_token_ms: attempt.timeToFirstToken(),
    latency_ms: attempt.elapsed(),
    response_id: null,
    wire: attempt.sent(),
  };
}
