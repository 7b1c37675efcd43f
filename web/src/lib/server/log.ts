import { LOG_LEVEL } from '$app/env/private';

/** The levels in pino's order, so the dashboard's lines read like the services' (JSON, one per line). */
const ORDER = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
type Level = Exclude<keyof typeof ORDER, 'silent'>;

function write(level: Level, fields: Record<string, unknown>, msg: string): void {
  if (ORDER[level] < ORDER[LOG_LEVEL]) return;
  const line = JSON.stringify({ level, time: new Date().toISOString(), service: 'web', pid: process.pid, ...fields, msg });
  (ORDER[level] >= ORDER.warn ? process.stderr : process.stdout).write(line + '\n');
}

/** The web server's logger: structured JSON lines on stdout/stderr, filtered by LOG_LEVEL. */
export const log = {
  debug: (fields: Record<string, unknown>, msg: string) => write('debug', fields, msg),
  info: (fields: Record<string, unknown>, msg: string) => write('info', fields, msg),
  warn: (fields: Record<string, unknown>, msg: string) => write('warn', fields, msg),
  error: (fields: Record<string, unknown>, msg: string) => write('error', fields, msg),
};

/** An error as loggable fields (message, code, stack), never its request headers. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { err: { message: String(error) } };
  const code = (error as NodeJS.ErrnoException).code;
  return { err: { type: error.name, message: error.message, ...(code ? { code } : {}), stack: error.stack } };
}
