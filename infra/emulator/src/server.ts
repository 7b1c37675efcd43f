/**
 * The provider emulator: one local HTTP server that speaks OpenAI (under /openai), Anthropic (under
 * /anthropic) and Ollama (under /ollama) closely enough that the official SDKs cannot tell. Every test
 * runs against it, and `npm run llmops -- emulator` offers it as a local stand-in to try LLM Ops without a
 * key; nothing in the product points at it or registers it by itself.
 *
 *   const emu = await startEmulator();
 *   new OpenAI({ baseURL: emu.baseUrl('openai'), apiKey: 'sk-test' })
 *   emu.fault({ protocol: 'openai', status: 429, retryAfter: 2, times: 1 });
 *   emu.requests  // every request received, in order
 *
 * Other processes (the dashboard's browser tests, benchmarks) control it over HTTP:
 * `POST /_emulator/faults` (a Fault as JSON), `DELETE /_emulator/faults`, `GET|DELETE /_emulator/requests`,
 * `GET /_emulator/stats` (requests in flight now and at most) and `DELETE /_emulator/stats` (resets the maximum).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicError, handleAnthropic } from './anthropic.ts';
import { Exchange, type Fault, type Protocol, type RecordedRequest } from './exchange.ts';
import { DEFAULT_MODELS, type EmulatorModels } from './models.ts';
import { handleOllama, ollamaError } from './ollama.ts';
import { handleOpenai, openaiError } from './openai.ts';

export type { Fault, Protocol, RecordedRequest } from './exchange.ts';
export { KEY_ENCODINGS, encodeKey, type KeyEncoding } from './echo.ts';
export type { EmulatorModel, EmulatorModels } from './models.ts';
export { DEFAULT_MODELS, emulatorModel } from './models.ts';

export interface EmulatorOptions {
  host?: string;
  port?: number;
  /** Keys the emulated providers accept; when absent, any non-empty key is accepted. */
  apiKeys?: string[];
  /** Whether the Ollama endpoints want a bearer key too (default false, like Ollama itself). */
  ollamaKeyRequired?: boolean;
  models?: Partial<EmulatorModels>;
}

/** Provider requests in flight: from the request's arrival to the end (or loss) of its response. */
export interface FlightStats {
  inFlight: number;
  maxInFlight: number;
}

export interface EmulatorStats extends FlightStats {
  byProtocol: Record<Protocol, FlightStats>;
}

export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The base URL each SDK takes: `<url>/openai/v1`, `<url>/anthropic`, `<url>/ollama`. */
  baseUrl(protocol: Protocol): string;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** Requests of one protocol (and optionally one path after its prefix). */
  requestsOf(protocol: Protocol, path?: string): RecordedRequest[];
  /** Provider requests in flight now, and the most there have been at once (since the last reset), over all protocols. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** The same, overall and per protocol. */
  stats(): EmulatorStats;
  /** Starts counting the maximum again from the requests in flight now. */
  resetMaxInFlight(): void;
  fault(fault: Fault): { remove(): void };
  clearFaults(): void;
  clearRequests(): void;
  models: EmulatorModels;
  stop(): Promise<void>;
}

const PREFIX: Record<Protocol, string> = { openai: '/openai', anthropic: '/anthropic', ollama: '/ollama' };

interface ActiveFault extends Fault {
  id: number;
  left: number;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const models: EmulatorModels = { ...DEFAULT_MODELS, ...options.models };
  const requests: RecordedRequest[] = [];
  let faults: ActiveFault[] = [];
  let faultSeq = 0;
  let seq = 0;
  const flight: FlightStats = { inFlight: 0, maxInFlight: 0 };
  const flightOf: Record<Protocol, FlightStats> = {
    openai: { inFlight: 0, maxInFlight: 0 },
    anthropic: { inFlight: 0, maxInFlight: 0 },
    ollama: { inFlight: 0, maxInFlight: 0 },
  };
  const stats = (): EmulatorStats => ({
    ...flight,
    byProtocol: {
      openai: { ...flightOf.openai },
      anthropic: { ...flightOf.anthropic },
      ollama: { ...flightOf.ollama },
    },
  });
  const resetMaxInFlight = () => {
    for (const counts of [flight, ...Object.values(flightOf)]) counts.maxInFlight = counts.inFlight;
  };
  /** Counts a provider request from now until its response ends or its connection closes, whichever comes first. */
  const track = (protocol: Protocol, res: ServerResponse, record: RecordedRequest) => {
    for (const counts of [flight, flightOf[protocol]]) {
      counts.inFlight += 1;
      counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      record.endedAt = new Date().toISOString();
      for (const counts of [flight, flightOf[protocol]]) counts.inFlight -= 1;
    };
    res.once('finish', end);
    res.once('close', end);
  };
  const checkKey = (key: string | undefined) => Boolean(key) && (!options.apiKeys || options.apiKeys.includes(key as string));

  const addFault = (fault: Fault) => {
    const active: ActiveFault = { ...fault, id: ++faultSeq, left: fault.times ?? Number.POSITIVE_INFINITY };
    faults.push(active);
    return { remove: () => void (faults = faults.filter((f) => f.id !== active.id)) };
  };

  /** Merges every fault that matches this request and counts it against their `times`. */
  const takeFault = (protocol: Protocol, path: string, model: unknown, raw: string): Fault => {
    const merged: Fault = {};
    for (const fault of faults) {
      if (fault.left <= 0) continue;
      if (fault.protocol && fault.protocol !== protocol) continue;
      if (fault.path && fault.path !== path) continue;
      if (fault.model && fault.model !== model) continue;
      if (fault.match && !raw.includes(fault.match)) continue;
      fault.left -= 1;
      for (const [key, value] of Object.entries(fault)) {
        if (key === 'id' || key === 'left' || key === 'times') continue;
        if ((merged as Record<string, unknown>)[key] === undefined) (merged as Record<string, unknown>)[key] = value;
      }
    }
    faults = faults.filter((f) => f.left > 0);
    return merged;
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `emulator failure: ${(error as Error).message}` }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const protocol = (Object.keys(PREFIX) as Protocol[]).find((p) => url.pathname.startsWith(`${PREFIX[p]}/`)) ?? null;
    const record: RecordedRequest = {
      seq: 0,
      protocol,
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: {},
      body: null,
      raw: '',
      at: new Date().toISOString(),
    };
    // In flight from the moment the request arrives, before its body is read.
    if (protocol) track(protocol, res, record);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = null;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = null;
      }
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    );

    if (url.pathname.startsWith('/_emulator/')) return control(req, res, url.pathname, body);

    Object.assign(record, { seq: ++seq, headers, body, raw });
    requests.push(record);
    if (!protocol) {
      record.status = 404;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `the emulator serves /openai, /anthropic and /ollama; not ${url.pathname}` }));
      return;
    }
    const path = url.pathname.slice(PREFIX[protocol].length);
    const model = typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
    const fault = takeFault(protocol, path, model, raw);
    const x = new Exchange(req, res, record, path, fault);
    if (fault.status) {
      const retry: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
      const echo = x.echoInError();
      if (protocol === 'openai') {
        const e = openaiError(fault.status, x.key, echo);
        return x.json(e.status, e.body, { ...retry, 'x-request-id': `req_emu${record.seq}` });
      }
      if (protocol === 'anthropic') {
        const e = anthropicError(fault.status, undefined, echo);
        return x.json(e.status, e.body, { ...e.headers, ...retry });
      }
      const e = ollamaError(fault.status, undefined, echo);
      return x.json(e.status, e.body, retry);
    }
    if (protocol === 'openai') return handleOpenai(x, models.openai, checkKey);
    if (protocol === 'anthropic') return handleAnthropic(x, models.anthropic, checkKey);
    return handleOllama(x, models.ollama, checkKey, options.ollamaKeyRequired === true);
  }

  function control(req: IncomingMessage, res: ServerResponse, path: string, body: unknown): void {
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (path === '/_emulator/faults' && req.method === 'POST') {
      addFault((body ?? {}) as Fault);
      return send(201, { faults: faults.length });
    }
    if (path === '/_emulator/faults' && req.method === 'DELETE') {
      faults = [];
      return send(200, { faults: 0 });
    }
    if (path === '/_emulator/requests' && req.method === 'GET') return send(200, { requests });
    if (path === '/_emulator/requests' && req.method === 'DELETE') {
      requests.length = 0;
      return send(200, { requests: 0 });
    }
    if (path === '/_emulator/stats' && req.method === 'GET') return send(200, stats());
    if (path === '/_emulator/stats' && req.method === 'DELETE') {
      resetMaxInFlight();
      return send(200, stats());
    }
    return send(404, { error: `no control endpoint ${req.method} ${path}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;
  return {
    url,
    baseUrl: (protocol) => `${url}${PREFIX[protocol]}${protocol === 'openai' ? '/v1' : ''}`,
    requests,
    get inFlight() {
      return flight.inFlight;
    },
    get maxInFlight() {
      return flight.maxInFlight;
    },
    stats,
    resetMaxInFlight,
    requestsOf: (protocol, path) =>
      requests.filter((r) => r.protocol === protocol && (!path || r.path === `${PREFIX[protocol]}${path}`)),
    fault: addFault,
    clearFaults: () => void (faults = []),
    clearRequests: () => void (requests.length = 0),
    models,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * `npm run emulator -- [port]` (`node infra/emulator/src/server.ts`): on its own, for browser tests and
 * benchmarks, with a JSON line for them to read. People use `npm run llmops -- emulator`.
 */
if (import.meta.main) {
  const emulator = await startEmulator({ port: Number(process.argv[2] ?? 0) });
  process.stdout.write(`${JSON.stringify({ msg: 'emulator listening', url: emulator.url })}\n`);
  const stop = () => void emulator.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
