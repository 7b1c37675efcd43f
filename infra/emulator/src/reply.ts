/**
 * Deterministic replies derived from the request, so a test can prove what was sent: the reply repeats
 * the last user message ("You said: ..."), or wraps it in JSON when JSON output was asked for (a last
 * user message that is itself a JSON object is answered as it is). Tokens are
 * whitespace-separated words; the system prompt counts as the cached part of the input.
 */

export interface ReplyInput {
  /** Texts of the conversation, in order, without the system prompt. */
  messages: { role: string; text: string }[];
  system: string;
  maxTokens?: number | undefined;
  stop?: string[] | undefined;
  json?: boolean;
  /** Text appended after the reply, chunk by chunk as given (an echoed key, see echo.ts). */
  echo?: string[] | undefined;
}

export interface Reply {
  text: string;
  /** The text in stream chunks (one word with its trailing space each). */
  chunks: string[];
  finish: 'stop' | 'length' | 'stop_sequence';
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
}

export function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The text of a message's content: a string, or an array of text parts (OpenAI and Anthropic shapes). */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((part) =>
        typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string'
          ? (part as { text: string }).text
          : '',
      )
      .join('');
  return '';
}

/**
 * A JSON object given as the whole last user message, compacted: in JSON mode the emulator answers with
 * it, as a model that was told exactly what to answer would (tests of structured output that fits).
 */
function jsonObjectText(text: string): string | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? JSON.stringify(parsed) : undefined;
  } catch {
    return undefined;
  }
}

export function replyFor(input: ReplyInput): Reply {
  const lastUser = [...input.messages].reverse().find((m) => m.role === 'user')?.text ?? '';
  let text = input.json
    ? (jsonObjectText(lastUser) ?? JSON.stringify({ reply: `You said: ${lastUser}` }))
    : `You said: ${lastUser}`;
  let finish: Reply['finish'] = 'stop';
  for (const stop of input.stop ?? []) {
    const at = stop ? text.indexOf(stop) : -1;
    if (at >= 0) {
      text = text.slice(0, at);
      finish = 'stop_sequence';
    }
  }
  let chunks: string[] = text.match(/\S+\s*/g) ?? [];
  if (input.maxTokens !== undefined && chunks.length > input.maxTokens) {
    chunks = chunks.slice(0, input.maxTokens);
    text = chunks.join('');
    finish = 'length';
  }
  if (input.echo) {
    chunks = [...chunks, ...input.echo];
    text = chunks.join('');
  }
  const systemWords = words(input.system);
  return {
    text,
    chunks,
    finish,
    inputTokens: systemWords + input.messages.reduce((sum, m) => sum + words(m.text), 0),
    cachedTokens: systemWords,
    outputTokens: chunks.length,
  };
}

/** A stable short id from a text (for response ids): FNV-1a, hex. */
export function stableId(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
