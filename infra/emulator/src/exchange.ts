import type { IncomingMessage, ServerResponse } from 'node:http';
import { echoChunks, encodeKey, type KeyEncoding } from './echo.ts';

export type Protocol = 'openai' | 'anthropic' | 'ollama';

/**
 * A fault to inject. It applies to requests that match every filter given (protocol, path, model), for
 * `times` requests (every one when absent): an error status (with its protocol's own error body), a
 * delay before the first byte, a slow stream, or a stream cut half-way.
 */
export interface Fault {
  protocol?: Protocol;
  /** The path after the protocol prefix, e.g. `/v1/chat/completions`, `/api/chat`. */
  path?: string;
  model?: string;
  /** Only requests whose body contains this text (lets concurrent tests each fault their own requests). */
  match?: string;
  times?: number;
  /** Answer with this HTTP status (401, 429, 500, 529...) and the protocol's error body. */
  status?: number;
  /** The Retry-After header sent with the error (seconds, as the real APIs send it). */
  retryAfter?: number | string;
  /** Wait this long before the response's first byte. */
  delayFirstByteMs?: number;
  /**
   * Hold the response's first byte until this settles (in-process faults only): a bench or test releases
   * the answer once it is watching, instead of guessing a delay long enough.
   */
  firstByteAfter?: Promise<unknown>;
  /** Wait this long between stream chunks. */
  chunkDelayMs?: number;
  /** Destroy the connection after this many stream chunks (a stream cut half-way). */
  cutAfterChunks?: number;
  /**
   * Fail inside a 200 stream after this many chunks, with the protocol's own in-stream error (OpenAI's
   * `data: {"error": ...}` chunk, Anthropic's `event: error`, Ollama's `{"error": ...}` line) of the kind
   * this HTTP status means: 500 a server error, 529 (or 503) overloaded, 429 a rate limit.
   */
  streamError?: number;
  /** Chunks sent before the in-stream error (default 2). */
  streamErrorAfterChunks?: number;
  /**
   * Echo the key the request carried, in this encoding: in the error message when `status` is given,
   * else at the end of the reply's text (split across stream chunks), as a misbehaving proxy would.
   */
  echoKey?: KeyEncoding;
}

export interface RecordedRequest {
  seq: number;
  protocol: Protocol | null;
  method: string;
  /** The full path as received, prefix included. */
  path: string;
  headers: Record<string, string>;
  /** The parsed JSON body (null when none); `raw` is the text as received. */
  body: unknown;
  raw: string;
  /** When the request arrived (before its body was read). */
  at: string;
  status?: number;
  /** When its response ended, or its connection closed before that (absent while in flight). */
  endedAt?: string;
}

/** What a protocol handler works with: the request, the faults that apply, and ways to answer. */
export class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: RecordedRequest;
  readonly fault: Fault;
  /** The path after the protocol prefix. */
  readonly path: string;

  constructor(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, path: string, fault: Fault) {
    this.req = req;
    this.res = res;
    this.record = record;
    this.path = path;
    this.fault = fault;
  }

  header(name: string): string | undefined {
    return this.record.headers[name.toLowerCase()];
  }

  /** The API key the request carried: `x-api-key`, else a bearer token. */
  get key(): string | undefined {
    const bearer = this.header('authorization');
    return this.header('x-api-key') ?? (bearer?.startsWith('Bearer ') ? bearer.slice(7) : undefined);
  }

  /** The key echoed into an error message, when the fault asks for it (else nothing). */
  echoInError(): string {
    const { echoKey } = this.fault;
    return echoKey && this.key ? ` (received key ${encodeKey(this.key, echoKey)})` : '';
  }

  /** The key echoed at the end of a successful reply, in pieces, when the fault asks for it. */
  echoInReply(): string[] | undefined {
    const { echoKey, status } = this.fault;
    return echoKey && !status && this.key ? echoChunks(this.key, echoKey) : undefined;
  }

  get body(): Record<string, unknown> {
    const body = this.record.body;
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  }

  async #firstByte(): Promise<void> {
    if (this.fault.delayFirstByteMs) await sleep(this.fault.delayFirstByteMs, this.res);
    if (this.fault.firstByteAfter) await held(this.fault.firstByteAfter, this.res);
  }

  async json(status: number, body: unknown, headers: Record<string, string> = {}): Promise<void> {
    await this.#firstByte();
    if (this.res.destroyed) return;
    this.record.status = status;
    const text = JSON.stringify(body);
    this.res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    this.res.end(text);
  }

  /**
   * Streams frames (already formatted: SSE events or NDJSON lines), honouring slow and cut faults; with a
   * `streamError` fault, `errorFrame` replaces the rest of the stream after the fault's chunk count.
   */
  async stream(
    contentType: string,
    frames: string[],
    headers: Record<string, string> = {},
    errorFrame?: (status: number) => string,
  ): Promise<void> {
    if (this.fault.streamError && errorFrame)
      frames = [...frames.slice(0, this.fault.streamErrorAfterChunks ?? 2), errorFrame(this.fault.streamError)];
    await this.#firstByte();
    if (this.res.destroyed) return;
    this.record.status = 200;
    this.res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
    this.res.flushHeaders();
    for (const [index, frame] of frames.entries()) {
      if (this.fault.cutAfterChunks !== undefined && index >= this.fault.cutAfterChunks) {
        this.res.socket?.destroy();
        return;
      }
      if (index > 0 && this.fault.chunkDelayMs) await sleep(this.fault.chunkDelayMs, this.res);
      if (this.res.destroyed) return;
      // Each frame is flushed before the next, so a cut or a delay falls between frames as on a real network.
      await new Promise<void>((resolve) => this.res.write(frame, () => resolve()));
    }
    this.res.end();
  }
}

/** Waits, but stops early when the client went away. */
/** Resolves when `gate` settles, or sooner when the client has gone (`res` closed). */
function held(gate: Promise<unknown>, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('close', done);
      resolve();
    };
    res.once('close', done);
    gate.then(done, done);
  });
}

export function sleep(ms: number, res?: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      res?.off('close', done);
      resolve();
    }
    res?.once('close', done);
  });
}

export function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

export function ndjson(data: unknown): string {
  return `${JSON.stringify(data)}\n`;
}

/** Unix seconds, as OpenAI timestamps are. */
export const unixNow = () => Math.floor(Date.now() / 1000);
