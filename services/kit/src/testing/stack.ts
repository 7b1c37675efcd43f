import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../logger.ts';
import { createIdentitySigner, IDENTITY_HEADER, type Identity } from '../http/identity.ts';
import type { RunningService, ServiceBuild } from '../runtime.ts';
import { runService } from '../runtime.ts';
import { urlVariable, type ServiceName } from '../services.ts';
import type { TestDatabase } from './database.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Start order: services others call come first, so their URLs can be handed on. */
const ORDER: readonly ServiceName[] = ['registry', 'prompt', 'runner', 'workflow', 'gateway'];

export interface StackService {
  service: ServiceName;
  url: string;
  /** Process mode only: the child, for chaos tests (kill -9 and the like). */
  process?: ChildProcess;
  stop(): Promise<void>;
}

export interface Stack {
  secret: string;
  urls: Partial<Record<ServiceName, string>>;
  services: Map<ServiceName, StackService>;
  /** Calls a service directly as `identity` (an admin account unless given), as the gateway would. */
  call(service: ServiceName, path: string, init?: RequestInit, identity?: Identity): Promise<Response>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** `directUrlFor`, when given, is each service's DATABASE_DIRECT_URL (its `urlFor` then goes through a pooler). */
  db: Pick<TestDatabase, 'urlFor'> & { directUrlFor?: (service: ServiceName) => string };
  services: readonly ServiceName[];
  /** In-process (fast, default) or each service as its own node process (chaos tests). */
  mode?: 'in-process' | 'process';
  /** Extra environment for every service (short leases, sweep intervals...). */
  env?: Record<string, string>;
  /** The internal secret and the registry's master keyring; a fresh pair unless given (several stacks as one install share them). */
  secret?: string;
  keyring?: string;
  log?: Logger;
}

type Build = ServiceBuild;

/**
 * Starts any set of services against a test database on port 0 (ADR 0014), each with its own login
 * role. kit does not depend on the services: their composition roots are loaded by path at run time.
 */
export async function startStack({ db, services, mode = 'in-process', env = {}, log, ...given }: StackOptions): Promise<Stack> {
  const secret = given.secret ?? testSecret();
  const keyring = given.keyring ?? testKeyring();
  const urls: Partial<Record<ServiceName, string>> = {};
  const started = new Map<ServiceName, StackService>();
  const logger = log ?? createLogger({ service: 'stack', level: 'silent' });
  const signer = createIdentitySigner(secret);
  const stop = async () => {
    for (const service of [...started.keys()].reverse()) await started.get(service)?.stop();
  };
  try {
    for (const service of ORDER.filter((s) => services.includes(s))) {
      const serviceEnv: Record<string, string> = {
        DATABASE_URL: db.urlFor(service),
        ...(db.directUrlFor ? { DATABASE_DIRECT_URL: db.directUrlFor(service) } : {}),
        LLMOPS_INTERNAL_SECRET: secret,
        LLMOPS_HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: process.env.LLMOPS_TEST_LOG_LEVEL ?? 'silent',
        ...Object.fromEntries(Object.entries(urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
        // Only the registry holds the master keyring (ADR 0007); a throwaway one per stack.
        ...(service === 'registry' ? { LLMOPS_MASTER_KEYS: keyring } : {}),
        ...env,
      };
      const running =
        mode === 'in-process' ? await startInProcess(service, serviceEnv, logger) : await startProcess(service, serviceEnv);
      started.set(service, running);
      urls[service] = running.url;
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    secret,
    urls,
    services: started,
    stop,
    call: async (service, path, init = {}, identity) => {
      const url = urls[service];
      if (!url) throw new Error(`${service} is not part of this stack (started: ${[...started.keys()].join(', ')})`);
      const who: Identity = identity ?? { kind: 'account', subject: 'test-admin', role: 'admin', scopes: [], requestId: 'test' };
      const headers = new Headers(init.headers);
      headers.set(IDENTITY_HEADER, await signer.sign(who, service));
      if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(`${url}${path}`, { ...init, headers });
    },
  };
}

/** A fresh internal secret, as a stack makes for itself. */
export function testSecret(): string {
  return `test-internal-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
}

/** A fresh master keyring (one key), as a stack makes for its registry. */
export function testKeyring(): string {
  return `test:${randomBytes(32).toString('base64')}`;
}

async function startInProcess(service: ServiceName, env: Record<string, string>, log: Logger): Promise<StackService> {
  const module = (await import(`${ROOT}services/${service}/src/main.ts`)) as Record<string, unknown>;
  const build = module[`build${service[0]?.toUpperCase()}${service.slice(1)}`] as Build | undefined;
  if (!build) throw new Error(`services/${service}/src/main.ts does not export its build function`);
  const running: RunningService = await runService(service, build, { env, log: log.child({ service }) });
  return { service, url: running.url, stop: () => running.stop('test stack stopped') };
}

function startProcess(service: ServiceName, env: Record<string, string>): Promise<StackService> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${ROOT}services/${service}/src/main.ts`], {
      cwd: ROOT,
      env: { ...process.env, ...env, LOG_LEVEL: env.LOG_LEVEL === 'silent' ? 'info' : (env.LOG_LEVEL ?? 'info') },
      // An IPC channel: a service whose test process is gone (even killed) stops too (runMain).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const { stdout, stderr } = child;
    if (!stdout || !stderr) throw new Error('spawn gave no output streams');
    const output: string[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${service} did not start within 30 s:\n${output.join('\n')}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${service} exited during start-up (code ${code}):\n${output.join('\n')}`));
    });
    stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    createInterface({ input: stdout }).on('line', (line) => {
      output.push(line);
      if (output.length > 200) output.shift();
      const entry = parseLine(line);
      if (entry?.msg === 'started' && typeof entry.port === 'number') {
        clearTimeout(timer);
        const url = `http://127.0.0.1:${entry.port}`;
        resolve({
          service,
          url,
          process: child,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
