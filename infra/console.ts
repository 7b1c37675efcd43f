/**
 * What `npm start` prints. The services write JSON lines (kit's logger); at a terminal the supervisor
 * renders each through pino-pretty — time, level, the part's name, the message, then the ids a reader
 * follows (request, task, attempt, event) — in colour; anywhere else a JSON line passes through
 * unchanged, for a log shipper or `| pino-pretty` (docs/operations.md#logs).
 */
import { prettyFactory } from 'pino-pretty';

/** The ids that follow a request or a task across services, shown right after the message. */
const IDS = ['reqId', 'taskId', 'attempt', 'eventId'] as const;

const PART_COLORS: Record<string, string> = {
  supervisor: '0',
  postgres: '90',
  registry: '36',
  prompt: '35',
  runner: '33',
  workflow: '32',
  gateway: '34',
  web: '96',
};

const dim = (text: string, colour: boolean) => (colour ? `\x1b[90m${text}\x1b[39m` : text);

/** The renderer of one kind of output: at a terminal (colour) or not. */
export function lineFormatter({ tty }: { tty: boolean }): (part: string, line: string) => string {
  const pretty = prettyFactory({
    colorize: tty,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', 'service', ...IDS].join(','),
    singleLine: true,
    messageFormat: (log, messageKey) => {
      const ids = IDS.filter((id) => log[id] !== undefined).map((id) => `${id}=${String(log[id])}`);
      return [String(log[messageKey] ?? ''), ...(ids.length ? [dim(ids.join(' '), tty)] : [])].join(' ');
    },
  });
  return (part, line) => {
    const json = parseLogLine(line);
    if (!tty) return json ? line : `${part.padEnd(9)}| ${line}`;
    const prefix = `\x1b[${PART_COLORS[part] ?? '0'}m${part.padEnd(10)}\x1b[0m│ `;
    // An error's stack spans lines: each keeps the part's name in front.
    const text = json ? pretty(json).trimEnd() : line;
    return text
      .split('\n')
      .map((row) => `${prefix}${row}`)
      .join('\n');
  };
}

/** The line as a log entry when it is one of our JSON lines (an object with a message), else undefined. */
function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as unknown;
    if (typeof entry === 'object' && entry !== null && typeof (entry as { msg?: unknown }).msg === 'string')
      return entry as Record<string, unknown>;
  } catch {
    // not JSON: shown as it is
  }
  return undefined;
}

/**
 * Keeps the URLs and the setup link in sight at a terminal: once the logs have been quiet for `quietMs`
 * after printing something, the reminder is printed again below them. Nothing is printed while nothing
 * is logged, so an idle terminal keeps one reminder at its end.
 */
export class Reminder {
  readonly #write: (text: string) => void;
  readonly #lines: () => Promise<readonly string[]>;
  readonly #quietMs: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(write: (text: string) => void, lines: () => Promise<readonly string[]>, quietMs = 2_000) {
    this.#write = write;
    this.#lines = lines;
    this.#quietMs = quietMs;
  }

  /** Something was printed: the reminder follows once the output is quiet again. */
  printed(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#show(), this.#quietMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #show(): Promise<void> {
    const lines = await this.#lines().catch(() => []);
    if (this.#stopped || lines.length === 0) return;
    this.#write(`${lines.map((line) => `\x1b[90m│\x1b[0m ${line}`).join('\n')}\n`);
  }
}
