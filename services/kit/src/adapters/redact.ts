/**
 * Removes a provider key from what a provider sends back. Servers echo the key they were sent — a proxy's
 * error page, a misconfigured local server — and not always as it was sent: base64 (a Basic auth header
 * `user:key`, a bearer header), base64url, URL-encoded, hex. Every encoding here is replaced, and base64
 * of the key inside a longer base64 text too, at each of the three offsets the key can have in it (the
 * characters that depend on the key alone are the same wherever the stream started).
 *
 * One redactor per key, used on everything an adapter returns or throws (redacting.ts), so nothing a
 * provider said reaches a task, an attempt, an event, a log or an answer with the key in it (ADR 0007).
 */

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/** Shorter secrets (and encodings) would match ordinary text; they are not looked for. */
const MIN_LENGTH = 4;

/** A text that trails off into the start of the key at the very end (a stream cut in the middle of an echo). */
const MIN_TRAILING_PART = 8;

/** The ways one position of an encoded secret may be written; a variant is a sequence of them. */
type Unit = readonly string[];
type Variant = readonly Unit[];

function percent(bytes: Uint8Array): string[] {
  const hex = [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  return [...new Set([hex.toUpperCase(), hex])];
}

/** The secret as text: each character as it is, URL-encoded (either case) or JSON-escaped. */
function textVariant(secret: string): Variant {
  const encoder = new TextEncoder();
  return [...secret].map((char) => {
    const ways = [char, ...percent(encoder.encode(char))];
    if (char === '"' || char === '\\') ways.push(`\\${char}`);
    return ways;
  });
}

/** Hex of the bytes, each digit in either case. */
function hexVariant(bytes: Buffer): Variant {
  return [...bytes.toString('hex')].map((digit) => [...new Set([digit, digit.toUpperCase()])]);
}

/** Base64 characters that URL-encoding changes may appear URL-encoded (a base64 value in a query string). */
function base64Units(text: string): Variant {
  return [...text].map((char) => (/[+/=]/.test(char) ? [char, ...percent(new TextEncoder().encode(char))] : [char]));
}

/**
 * Base64 of the bytes in both alphabets: whole (as a value of its own), and the characters that depend
 * only on the bytes when they sit at offset 0, 1 or 2 (mod 3) of a longer stream.
 */
function base64Variants(bytes: Buffer): Variant[] {
  const texts = [bytes.toString('base64'), bytes.toString('base64url')];
  for (const lead of [0, 1, 2]) {
    const stream = Buffer.concat([Buffer.alloc(lead), bytes]);
    const first = Math.ceil((lead * 8) / 6);
    const last = Math.floor(((lead + bytes.length) * 8) / 6);
    const core = stream.toString('base64').slice(first, last);
    texts.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return texts.map(base64Units);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function unitPattern(unit: Unit): string {
  if (unit.length === 1) return escapeRegExp(unit[0] as string);
  if (unit.every((way) => way.length === 1)) return `[${unit.map(escapeRegExp).join('')}]`;
  return `(?:${unit.map(escapeRegExp).join('|')})`;
}

/** Whether `text` from `from` to its end is the start of some writing of `variant` (not all of it). */
function startsVariant(variant: Variant, text: string, from: number): boolean {
  const stack: [number, number][] = [[0, from]];
  while (stack.length > 0) {
    const [unit, at] = stack.pop() as [number, number];
    if (at === text.length) {
      if (unit < variant.length) return true;
      continue;
    }
    if (unit === variant.length) continue;
    for (const way of variant[unit] as Unit) {
      if (way.length <= text.length - at) {
        if (text.startsWith(way, at)) stack.push([unit + 1, at + way.length]);
      } else if (way.startsWith(text.slice(at))) {
        return true;
      }
    }
  }
  return false;
}

/** Redactors of the keys in use lately; a process talks to a handful of providers. */
const RECENT = new Map<string, Redactor>();
const RECENT_MAX = 64;

/** Removes one secret, in every encoding, from texts, JSON values and streams. */
export class Redactor {
  /** A redactor that finds nothing (no key, or one too short to look for). */
  static readonly none = new Redactor(null);

  readonly #variants: Variant[];
  readonly #pattern: RegExp | null;
  /** The longest text one writing of the secret can take. */
  readonly #longest: number;
  readonly #firsts: Set<string>;

  /** Built once per key (a fraction of a millisecond) and kept for the process's next calls with it. */
  static for(secret: string | null | undefined): Redactor {
    if (!secret || secret.length < MIN_LENGTH) return Redactor.none;
    let redactor = RECENT.get(secret);
    if (!redactor) {
      redactor = new Redactor(secret);
      if (RECENT.size >= RECENT_MAX) RECENT.delete(RECENT.keys().next().value as string);
      RECENT.set(secret, redactor);
    }
    return redactor;
  }

  private constructor(secret: string | null) {
    const bytes = Buffer.from(secret ?? '', 'utf8');
    const variants = secret === null ? [] : [textVariant(secret), hexVariant(bytes), ...base64Variants(bytes)];
    const seen = new Set<string>();
    this.#variants = variants
      .filter((variant) => variant.length >= MIN_LENGTH)
      .filter((variant) => {
        const key = JSON.stringify(variant);
        return !seen.has(key) && Boolean(seen.add(key));
      })
      // Longest first, so a whole encoding wins over the part of it that a shorter one matches.
      .sort((a, b) => b.length - a.length);
    this.#pattern =
      this.#variants.length === 0 ? null : new RegExp(this.#variants.map((v) => v.map(unitPattern).join('')).join('|'), 'g');
    this.#longest = Math.max(
      0,
      ...this.#variants.map((v) => v.reduce((sum, unit) => sum + Math.max(...unit.map((w) => w.length)), 0)),
    );
    this.#firsts = new Set(this.#variants.flatMap((v) => (v[0] ?? []).map((way) => way[0] as string)));
  }

  /** The text with every writing of the secret replaced by `[redacted]`. */
  text(text: string): string {
    if (!this.#pattern) return text;
    const stream = this.stream();
    return stream.push(text) + stream.end();
  }

  /** A JSON value (strings in arrays and plain objects, keys included) with the secret redacted. */
  json<T>(value: T): T {
    if (!this.#pattern) return value;
    return this.#json(value) as T;
  }

  #json(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.#json(item));
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.text(key), this.#json(item)]));
    return value;
  }

  /**
   * A stream of text (deltas): each piece comes back redacted, except a tail that could be the start of
   * the secret, which is held until the next piece or the end shows what it is. What comes out, put
   * together, is the whole text redacted.
   */
  stream(): { push(piece: string): string; end(): string } {
    let pending = '';
    return {
      push: (piece) => {
        pending += piece;
        const { out, rest } = this.#scan(pending, false);
        pending = rest;
        return out;
      },
      end: () => {
        const { out } = this.#scan(pending, true);
        pending = '';
        return out;
      },
    };
  }

  #scan(text: string, final: boolean): { out: string; rest: string } {
    const pattern = this.#pattern;
    if (!pattern) return { out: text, rest: '' };
    let out = '';
    let at = 0;
    for (;;) {
      pattern.lastIndex = at;
      const match = pattern.exec(text);
      if (!match) break;
      // A match near the end may be the start of a longer writing whose rest is still to come (base64's
      // last character and padding): wait for it, so a stream is redacted as the whole text would be.
      if (!final && text.length - match.index < this.#longest && this.#startsAt(text, match.index)) break;
      out += text.slice(at, match.index) + REDACTED;
      at = match.index + match[0].length;
    }
    const held = this.#partialFrom(text, at);
    if (!final) return { out: out + text.slice(at, held), rest: text.slice(held) };
    const tail = text.slice(held);
    return { out: out + text.slice(at, held) + (tail.length >= MIN_TRAILING_PART ? REDACTED : tail), rest: '' };
  }

  /** Where the tail of `text` that could begin a writing of the secret starts (text.length when none). */
  #partialFrom(text: string, from: number): number {
    for (let at = Math.max(from, text.length - this.#longest + 1); at < text.length; at++) {
      if (this.#startsAt(text, at)) return at;
    }
    return text.length;
  }

  #startsAt(text: string, at: number): boolean {
    return this.#firsts.has(text[at] as string) && this.#variants.some((variant) => startsVariant(variant, text, at));
  }
}
