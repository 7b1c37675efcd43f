import { Tiktoken } from 'js-tiktoken/lite';

/**
 * Token estimates. For OpenAI models the count comes from js-tiktoken with the model's encoding
 * (exact for the text; the chat framing is OpenAI's documented 3 tokens per message plus 3 to prime
 * the reply). For every other model it is a stated approximation: one token per 4 characters of text,
 * rounded up, with the same framing. Tokenizers of other providers differ by ±20–30 %; the estimate is
 * for budgeting, the provider's reported usage is the truth and is what tasks record.
 */
export const PER_MESSAGE_OVERHEAD = 3;
export const REPLY_PRIMING = 3;
export const APPROXIMATION = 'approximation:chars/4';

type Encoding = 'o200k_base' | 'cl100k_base';

/** The encoding of an OpenAI model name (a provider prefix such as `openai/` is ignored), if it is one. */
export function encodingFor(model: string | undefined): Encoding | undefined {
  if (!model) return undefined;
  const name = model.toLowerCase().split('/').pop() ?? '';
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o1|o3|o4|gpt-oss)/.test(name)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada-002)/.test(name)) return 'cl100k_base';
  return undefined;
}

const encoders = new Map<Encoding, Promise<Tiktoken>>();

/** Loads an encoding's ranks on first use only (they are megabytes). */
function encoder(encoding: Encoding): Promise<Tiktoken> {
  let loading = encoders.get(encoding);
  if (!loading) {
    loading = (encoding === 'o200k_base' ? import('js-tiktoken/ranks/o200k_base') : import('js-tiktoken/ranks/cl100k_base')).then(
      (ranks) => new Tiktoken(ranks.default),
    );
    encoders.set(encoding, loading);
  }
  return loading;
}

/** Unicode code points: what "characters" means everywhere in this service. */
export function charCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
}

export interface Counter {
  method: string;
  exact: boolean;
  count(text: string): number;
}

export async function counterFor(model: string | undefined): Promise<Counter> {
  const encoding = encodingFor(model);
  if (!encoding) return { method: APPROXIMATION, exact: false, count: (text) => Math.ceil(charCount(text) / 4) };
  const tiktoken = await encoder(encoding);
  // Special-token text (`<|endoftext|>`) in a prompt is plain text to count, not an error.
  return { method: `tiktoken:${encoding}`, exact: true, count: (text) => tiktoken.encode(text, [], []).length };
}

export interface TokenEstimate {
  method: string;
  exact_for_model: boolean;
  total: number;
  per_message_overhead: number;
}

/** Per-message token counts of the texts and the total including the chat framing. */
export function countTokens(texts: readonly string[], counter: Counter): { perMessage: number[]; estimate: TokenEstimate } {
  const perMessage = texts.map((text) => counter.count(text));
  const framing = texts.length === 0 ? 0 : texts.length * PER_MESSAGE_OVERHEAD + REPLY_PRIMING;
  return {
    perMessage,
    estimate: {
      method: counter.method,
      exact_for_model: counter.exact,
      total: perMessage.reduce((sum, n) => sum + n, 0) + framing,
      per_message_overhead: PER_MESSAGE_OVERHEAD,
    },
  };
}
