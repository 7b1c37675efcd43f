import { ProviderError } from './errors.ts';
import { Redactor } from './redact.ts';
import type { AttemptOptions, ChatResult, ProviderAdapter, ProviderConnection } from './types.ts';

/** What an adapter threw, with the key redacted from everything it says. */
function redactedError(error: unknown, redactor: Redactor): Error {
  if (error instanceof ProviderError) return error.redacted(redactor);
  // Adapters throw only ProviderErrors; anything else is a bug, passed on as one (with its stack) minus
  // what it may have echoed, and without its cause.
  const redacted = new Error(redactor.text(error instanceof Error ? error.message : String(error)));
  if (error instanceof Error && error.stack) redacted.stack = redactor.text(error.stack);
  return redacted;
}

/**
 * An adapter whose every output has the connection's key redacted (redact.ts): the text (and each
 * streamed delta, so live output never shows it either), the recorded wire request, the provider's
 * finish reason and ids, revised image prompts, listed models and every error. `adapterFor` answers
 * only adapters wrapped like this, so no caller has to remember.
 */
export function redacting(adapter: ProviderAdapter): ProviderAdapter {
  return {
    kind: adapter.kind,

    async chat(connection: ProviderConnection, request, options: AttemptOptions = {}): Promise<ChatResult> {
      const redactor = Redactor.for(connection.apiKey);
      const stream = redactor.stream();
      let raw = '';
      let shown = '';
      const show = (text: string) => {
        shown += text;
        if (text !== '') options.onDelta?.(text);
      };
      try {
        const result = await adapter.chat(connection, request, {
          ...options,
          onDelta: (delta) => {
            raw += delta;
            show(stream.push(delta));
          },
        });
        show(stream.end());
        return {
          ...result,
          // What was streamed is what is kept, so the deltas add up to the stored output.
          text: raw === result.text ? shown : redactor.text(result.text),
          provider_finish_reason: result.provider_finish_reason && redactor.text(result.provider_finish_reason),
          response_id: result.response_id && redactor.text(result.response_id),
          wire: redactor.json(result.wire),
        };
      } catch (error) {
        show(stream.end());
        throw redactedError(error, redactor);
      }
    },

    async generateImage(connection, request, options) {
      const redactor = Redactor.for(connection.apiKey);
      try {
        const result = await adapter.generateImage(connection, request, options);
        return {
          ...result,
          images: result.images.map((image) => ({
            ...image,
            revised_prompt: image.revised_prompt && redactor.text(image.revised_prompt),
          })),
          wire: redactor.json(result.wire),
        };
      } catch (error) {
        throw redactedError(error, redactor);
      }
    },

    async listModels(connection, options) {
      const redactor = Redactor.for(connection.apiKey);
      try {
        return redactor.json(await adapter.listModels(connection, options));
      } catch (error) {
        throw redactedError(error, redactor);
      }
    },
  };
}
