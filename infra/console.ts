/** Renders a JSON log line for a person at a terminal: time, level, message, then the other fields. */

const LEVEL_COLORS: Record<string, string> = { fatal: '41;97', error: '31', warn: '33', info: '32', debug: '90', trace: '90' };
const SKIP = new Set(['level', 'time', 'msg', 'service', 'pid']);

export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.msg !== 'string') return line;
  const level = String(entry.level ?? 'info');
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => {
      if (key === 'err' && value && typeof value === 'object') {
        const err = value as { message?: string; stack?: string };
        return `\n    ${err.stack ?? err.message ?? JSON.stringify(value)}`;
      }
      return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    });
  return `\x1b[90m${time}\x1b[0m \x1b[${LEVEL_COLORS[level] ?? '0'}m${level.toUpperCase().padEnd(5)}\x1b[0m ${entry.msg}${fields.length ? ` \x1b[90m${fields.join(' ')}\x1b[0m` : ''}`;
}

/** A writable that formats each JSON line it gets, for the supervisor's own logger at a terminal. */
export const prettyStdout = {
  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) if (line) process.stdout.write(`${'supervisor'.padEnd(9)}│ ${formatLogLine(line)}\n`);
    return true;
  },
};
