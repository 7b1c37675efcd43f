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

/** Hides the password of any postgres:// URL inside a string (error messages, config dumps). */
export function redactUrlPasswords(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@');
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
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    serializers: {
      err: (error: unknown) => {
        const serialized = pino.stdSerializers.err(error as Error);
        if (typeof serialized.message === 'string') serialized.message = redactUrlPasswords(serialized.message);
        if (typeof serialized.stack === 'string') serialized.stack = redactUrlPasswords(serialized.stack);
        return serialized;
      },
    },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
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
