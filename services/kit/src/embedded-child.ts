import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface EmbeddedChildOptions {
  dataDir: string;
  port: number;
  password: string;
  /** Delete the data directory on stop (tests); a normal install keeps it. */
  persistent: boolean;
  logLevel?: string;
  /** Its own process group, so a terminal's Ctrl-C reaches it only through the parent (the supervisor). */
  detached?: boolean;
  /** Where its log lines go; ignored when absent. */
  onOutput?: (child: ChildProcess) => void;
  /** Called when it exits on its own (not after stop()). */
  onUnexpectedExit?: (code: number | null) => void;
}

export interface EmbeddedChild {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const HOLDER = fileURLToPath(new URL('./embedded-holder.ts', import.meta.url));

/** The admin URL of the embedded server on `port`: known before it starts, so start-up can check what it will hand on. */
export function embeddedAdminUrl(port: number, password: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/** Starts embedded PostgreSQL in a child process that holds it (see embedded-holder.ts). */
export function startEmbeddedPostgresChild(options: EmbeddedChildOptions): Promise<EmbeddedChild> {
  return new Promise((resolve, reject) => {
    const child = fork(HOLDER, [], {
      detached: options.detached ?? false,
      env: {
        ...process.env,
        LLMOPS_PG_DATA_DIR: options.dataDir,
        LLMOPS_PG_PORT: String(options.port),
        LLMOPS_PG_PASSWORD: options.password,
        LLMOPS_PG_PERSISTENT: String(options.persistent),
        LOG_LEVEL: options.logLevel ?? 'warn',
      },
      stdio: ['ignore', options.onOutput ? 'pipe' : 'ignore', options.onOutput ? 'pipe' : 'inherit', 'ipc'],
    });
    options.onOutput?.(child);
    let stopping = false;
    const stop = () =>
      new Promise<void>((done) => {
        stopping = true;
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
        child.send('stop');
      });
    child.once('message', (message: { type: string; message?: string }) => {
      if (message.type === 'ready') {
        resolve({
          url: embeddedAdminUrl(options.port, options.password),
          process: child,
          stop,
        });
      } else {
        reject(new Error(message.message ?? 'embedded PostgreSQL failed to start'));
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`embedded PostgreSQL exited during start-up (code ${code})`));
      if (!stopping) options.onUnexpectedExit?.(code);
    });
  });
}
