import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths that may carry secrets. Redaction is configuration, not something each call site remembers.
 * Covers headers, bodies and config objects at the top level and one or two levels down.
 */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'api_key',
  'apiKey',
  'authorization',
  'cookie',
  'databaseUrl',
  'connectionString',
  '*.password',
  '*.secret',
  '*.token',
  '*.api_key',
  '*.apiKey',
  '*.authorization',
  '*.cookie',
  '*.databaseUrl',
  '*.connectionString',
  '*.*.password',
  '*.*.api_key',
  '*.*.apiKey',
  '*.*.authorization',
  '*.*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-llmops-identity"]',
  'headers["x-llmops-identity"]',
  '*.headers["x-llmops-identity"]',
];

/**
 * The paths above as a tree to walk: each node says whether the key that reached it is redacted, its
 * literal children, and what any other key leads to (`*`), merged so that a key follows one node.
 */
interface RedactNode {
  redact: boolean;
  exact: Map<string, RedactNode>;
  any: RedactNode | undefined;
}

/** `req.headers["x-llmops-identity"]` → `req`, `headers`, `x-llmops-identity`. */
function pathParts(path: string): string[] {
  return [...path.matchAll(/[^.[\]]+|\[["']?([^"'\]]*)["']?\]/g)].map((match) => match[1] ?? match[0]);
}

function mergeNodes(nodes: readonly RedactNode[]): RedactNode {
  const merged: RedactNode = { redact: nodes.some((node) => node.redact), exact: new Map(), any: undefined };
  const anys = nodes.flatMap((node) => (node.any ? [node.any] : []));
  if (anys.length > 0) merged.any = mergeNodes(anys);
  const keys = new Set(nodes.flatMap((node) => [...node.exact.keys()]));
  for (const key of keys) {
    const exact = nodes.flatMap((node) => {
      const child = node.exact.get(key);
      return child ? [child] : [];
    });
    merged.exact.set(key, mergeNodes([...exact, ...anys]));
  }
  return merged;
}

function redactTree(paths: readonly string[]): RedactNode {
  const root: RedactNode = { redact: false, exact: new Map(), any: undefined };
  for (const path of paths) {
    let node = root;
    for (const part of pathParts(path)) {
      const fresh = (): RedactNode => ({ redact: false, exact: new Map(), any: undefined });
      if (part === '*') node = node.any ??= fresh();
      else {
        let child = node.exact.get(part);
        if (!child) node.exact.set(part, (child = fresh()));
        node = child;
      }
    }
    node.redact = true;
  }
  return mergeNodes([root]);
}

const REDACT_TREE = redactTree(REDACT_PATHS);
const CENSOR = '[redacted]';
/** Where an `err` sits in the tree: its serialized form is redacted as pino's `redact` did, after the serializer. */
const ERR_NODE: RedactNode = REDACT_TREE.exact.get('err') ??
  REDACT_TREE.any ?? { redact: false, exact: new Map(), any: undefined };

/**
 * `value` with every key the tree names replaced by the censor, copied only along the way to such a key
 * (the caller's object is never changed); `value` itself when nothing is redacted, the usual case. An own
 * key is redacted whatever its value, as pino's `redact` did; at the top, a key whose value is undefined
 * is left out of the line by pino anyway. `skip` names a top key redacted after its serializer (`err`).
 */
function redactValue(value: unknown, node: RedactNode, top: boolean, skip?: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  let copy: Record<string, unknown> | unknown[] | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Array.isArray(value) ? value.keys() : Object.keys(source)) {
    const name = String(key);
    if (name === skip) continue;
    const child = node.exact.get(name) ?? node.any;
    if (!child) continue;
    const item = source[name];
    let next = item;
    if (child.redact) {
      if (!(top && item === undefined)) next = CENSOR;
    } else if (child.exact.size > 0 || child.any) next = redactValue(item, child, false);
    if (next === item) continue;
    copy ??= Array.isArray(value) ? [...value] : Object.assign(Object.create(Object.getPrototypeOf(value) as object), source);
    (copy as Record<string, unknown>)[name] = next;
  }
  return copy ?? value;
}

/** The merging object of a line, or a child's bindings: secrets in it redacted by REDACT_PATHS. */
function redactLogObject<T extends object>(object: T): T {
  return redactValue(object, REDACT_TREE, true, 'err') as T;
}

/** Hides the password of any postgres:// URL inside a string (error messages, config dumps). */
export function redactUrlPasswords(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@');
}

/**
 * An `err` as pino's standard serializer writes it, with any postgres:// password in its message and stack hidden;
 * `err: null` and the like as given. The logger then redacts its keys by REDACT_PATHS.
 */
export function serializeError(error: unknown): ReturnType<typeof pino.stdSerializers.err> {
  const serialized = pino.stdSerializers.err(error as Error);
  if (serialized === null || typeof serialized !== 'object') return serialized;
  if (typeof serialized.message === 'string') serialized.message = redactUrlPasswords(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = redactUrlPasswords(serialized.stack);
  return serialized;
}

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to inspect what was logged. */
  destination?: NodeJS.WritableStream;
}

/** The one pino root of a process. JSON always; pipe through pino-pretty to read it. */
export function createLogger({ service, level = 'info', destination }: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // REDACT_PATHS applied by kit rather than by pino's `redact`: with its wildcard paths, pino ran its
    // redactor over every value of every line (each path parsed again each time), about 20 µs of CPU per
    // request line; this walks only keys the paths can reach and copies only what it redacts (issue 14,
    // docs/bench.md; logger.test.ts proves the same lines as pino's `redact` with these paths).
    formatters: { level: (label) => ({ level: label }), log: redactLogObject, bindings: redactLogObject },
    serializers: {
      err: (error: unknown) => {
        const serialized = serializeError(error);
        if (serialized === null || typeof serialized !== 'object') return serialized;
        return (ERR_NODE.redact ? CENSOR : redactValue(serialized, ERR_NODE, false)) as typeof serialized;
      },
    },
  };
  const logger = destination ? pino(options, destination as pino.DestinationStream) : pino(options);
  // pino formats only the root's bindings; a child's (and its children's, which inherit this) are redacted here.
  const child = logger.child as unknown as (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  logger.child = function (this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) {
    return child.call(this, redactLogObject(bindings), childOptions);
  } as unknown as Logger['child'];
  return logger;
}

/**
 * Stops writing a logger's lines once nobody reads them: a service whose supervisor is gone (even by
 * kill -9) has lost the pipe its stdout was. Without this, pino's flush at exit retries the broken
 * pipe for ever (sonic-boom 4 sleeps and retries any error there) and the process never ends.
 */
export function silenceLogger(log: Logger): void {
  log.level = 'silent';
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as Record<string, unknown> | undefined;
  if (!stream || typeof stream.flushSync !== 'function') return;
  const noop = () => {};
  Object.assign(stream, { write: () => true, flushSync: noop, flush: noop, end: noop });
}
