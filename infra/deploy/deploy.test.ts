/**
 * The deployment files run exactly what `npm start` and the tests run (commands.ts, which the
 * supervisor forks): the image's Dockerfile (parsed with dockerfile-ast), the compose file (resolved by
 * Debian's `docker-compose config`: there is no Docker daemon here) and the systemd units (checked by
 * `systemd-analyze verify`). Under CI=true a missing tool fails the test instead of skipping it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loginRole } from '@llmops/kit/roles';
import { SERVICES } from '@llmops/kit/services';
import { CLI_ENTRY, PARTS, partEntry } from './commands.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('./', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'llmops-deploy-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CI = process.env.CI === 'true';
const has = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
/** A check that needs `tool`: skipped where it is missing, except under CI, where that is a failure. */
const needs = (tool: string) => it.skipIf(!CI && !has(tool));

/** Every command a deployment may run: each part's entry, and the CLI's schema runner and roles step. */
const partCommands = new Map(PARTS.map((part) => [part, ['node', partEntry(part)]]));
const schemaCommand = ['node', CLI_ENTRY, 'db', 'apply'];

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the image (infra/deploy/Dockerfile)', () => {
  const text = readFileSync(join(HERE, 'Dockerfile'), 'utf8');
  const dockerfile = DockerfileParser.parse(text);

  it('builds on Node 24, builds the dashboard, and runs as an unprivileged user with the CLI as its default', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.map((from) => from.getImageName())).toEqual(['node', 'node']);
    for (const from of froms) expect(from.getImageTag()).toMatch(/^24-/);
    const runs = dockerfile
      .getInstructions()
      .filter((instruction) => instruction.getKeyword() === 'RUN')
      .map((instruction) => instruction.getArgumentsContent() ?? '');
    expect(runs.join('\n')).toContain('npm ci');
    expect(runs.join('\n')).toContain('npm run build -w web');
    const users = dockerfile.getInstructions().filter((instruction) => instruction.getKeyword() === 'USER');
    expect(users.at(-1)?.getArgumentsContent()).toBe('node');
    // No ENTRYPOINT: a container's command is the whole command line, as compose.yaml gives it.
    expect(dockerfile.getENTRYPOINTs()).toEqual([]);
    const cmds = dockerfile.getCMDs();
    expect(cmds).toHaveLength(1);
    expect(cmds[0]?.getJSONStrings().map((arg) => arg.getJSONValue())).toEqual(['node', CLI_ENTRY, 'help']);
  });

  it('lists in its header exactly the commands the supervisor runs, and the schema runner', () => {
    const listed = [...text.matchAll(/node ((?:services|web|infra)\/\S+(?: db apply)?)/g)].map((m) => `node ${m[1]}`);
    expect(listed.sort()).toEqual([...[...partCommands.values()].map((c) => c.join(' ')), schemaCommand.join(' ')].sort());
  });

  it('keeps local data, secrets and dependencies out of the build context', () => {
    const ignored = readFileSync(join(HERE, 'Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '.data', '**/.env', 'web/build']) expect(ignored).toContain(entry);
  });
});

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: unknown[];
  profiles?: string[];
}

describe('the compose file (infra/deploy/compose.yaml)', () => {
  const secret = () => randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    POSTGRES_PASSWORD: secret(),
    LLMOPS_INTERNAL_SECRET: secret(),
    LLMOPS_WEB_PROXY_SECRET: secret(),
    LLMOPS_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    ...Object.fromEntries(SERVICES.map((service) => [`LLMOPS_DB_PASSWORD_${service.toUpperCase()}`, secret()])),
  };
  const config = (envFile: string) =>
    run('docker-compose', ['--env-file', envFile, '-f', join(HERE, 'compose.yaml'), '--project-directory', HERE, 'config']);

  needs('docker-compose')(
    'resolves: each service runs its own command with its own role, after the schema runner and the roles step',
    async () => {
      const full = join(scratch, 'compose.env');
      writeFileSync(
        full,
        Object.entries(env)
          .map(([name, value]) => `${name}=${value}\n`)
          .join(''),
      );
      const empty = join(scratch, 'empty.env');
      writeFileSync(empty, readFileSync(join(HERE, 'llmops.env')));
      const [resolved, unset] = await Promise.all([config(full), config(empty)]);
      expect(resolved.code, resolved.stderr).toBe(0);
      // The shipped env file, unfilled, is refused with the variable to set.
      expect(unset.code).not.toBe(0);
      expect(unset.stderr).toMatch(/set (POSTGRES_PASSWORD|LLMOPS_\w+)/);

      const services = (parseYaml(resolved.stdout) as { services: Record<string, ComposeService> }).services;
      const adminUrl = `postgres://postgres:${env.POSTGRES_PASSWORD}@postgres:5432/llmops`;

      const postgres = services.postgres as ComposeService;
      expect(postgres.image).toMatch(/^postgres:(1[5-9]|[2-9]\d)\b/);
      expect(postgres.healthcheck?.test).toContain('pg_isready');

      const schema = services.schema as ComposeService;
      expect(schema.command).toEqual(schemaCommand);
      expect(schema.environment?.DATABASE_URL).toBe(adminUrl);
      expect(schema.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });

      const roles = services.roles as ComposeService;
      expect(roles.command).toEqual(['node', CLI_ENTRY, 'db', 'roles', '--deployment', 'app', '--passwords-from-env']);
      expect(roles.depends_on).toEqual({ schema: { condition: 'service_completed_successfully' } });

      for (const service of SERVICES) {
        const spec = services[service] as ComposeService;
        expect(spec.command, service).toEqual(partCommands.get(service));
        expect(spec.depends_on, service).toEqual({ roles: { condition: 'service_completed_successfully' } });
        const url = new URL(spec.environment?.DATABASE_URL as string);
        expect(url.username, service).toBe(loginRole(service, 'app'));
        expect(url.password, service).toBe(env[`LLMOPS_DB_PASSWORD_${service.toUpperCase()}`]);
        expect(spec.environment?.LLMOPS_INTERNAL_SECRET, service).toBe(env.LLMOPS_INTERNAL_SECRET);
        // The master keyring goes to the registry only (ADR 0007).
        expect('LLMOPS_MASTER_KEYS' in (spec.environment ?? {}), service).toBe(service === 'registry');
        expect(spec.healthcheck?.test.join(' '), service).toContain('/readyz');
        // Only the API is published among the services.
        expect(spec.ports !== undefined, service).toBe(service === 'gateway');
      }
      const web = services.web as ComposeService;
      expect(web.command).toEqual(partCommands.get('web'));
      expect(web.environment?.LLMOPS_WEB_PROXY_SECRET).toBe(env.LLMOPS_WEB_PROXY_SECRET);
      expect(services.gateway?.environment?.LLMOPS_WEB_PROXY_SECRET).toBe(env.LLMOPS_WEB_PROXY_SECRET);
      expect(Object.keys(web.environment ?? {})).not.toContain('LLMOPS_INTERNAL_SECRET');
      expect(Object.keys(web.environment ?? {})).not.toContain('DATABASE_URL');

      // Every container but the database runs the one image; the CLI only on demand.
      const images = new Set(
        Object.entries(services)
          .filter(([name]) => name !== 'postgres')
          .map(([, spec]) => spec.image),
      );
      expect(images.size).toBe(1);
      expect(services.cli?.entrypoint).toEqual(['node', CLI_ENTRY]);
      expect(services.cli?.profiles).toEqual(['cli']);
    },
  );
});

describe('the systemd units (infra/deploy/systemd)', () => {
  const dir = join(HERE, 'systemd');
  const units = readdirSync(dir).filter((name) => /\.(service|target)$/.test(name));
  const execStart = (name: string) => /^ExecStart=(.*)$/m.exec(readFileSync(join(dir, name), 'utf8'))?.[1];

  it('one unit per part and the schema runner, each running its command on the checkout’s pinned Node', () => {
    const node = '/opt/llmops/node_modules/.bin/node';
    for (const part of PARTS) expect(execStart(`llmops-${part}.service`), part).toBe(`${node} ${partEntry(part)}`);
    expect(execStart('llmops-schema.service')).toBe(`${node} ${schemaCommand.slice(1).join(' ')}`);
    const target = readFileSync(join(dir, 'llmops.target'), 'utf8');
    const wanted = /^Wants=(.*)$/m.exec(target)?.[1]?.split(/\s+/) ?? [];
    expect(wanted.sort()).toEqual(units.filter((name) => name.endsWith('.service')).sort());
    for (const service of SERVICES) {
      const unit = readFileSync(join(dir, `llmops-${service}.service`), 'utf8');
      expect(unit, service).toMatch(/^Requires=llmops-schema\.service$/m);
      expect(unit, service).toContain(`EnvironmentFile=/etc/llmops/${service}.env`);
    }
    // The dashboard never reads the shared file that holds the internal secret.
    expect(readFileSync(join(dir, 'llmops-web.service'), 'utf8')).not.toContain('llmops.env');
  });

  needs('systemd-analyze')('pass systemd-analyze verify with no complaint', async () => {
    // The units as installed, with the checkout in place of /opt/llmops and empty environment files.
    const installed = mkdtempSync(join(scratch, 'units-'));
    for (const name of units) {
      const unit = readFileSync(join(dir, name), 'utf8')
        .replaceAll('/opt/llmops/', ROOT)
        .replaceAll('/etc/llmops/', `${installed}/`);
      writeFileSync(join(installed, name), unit);
    }
    for (const name of ['llmops', 'schema', 'web', ...SERVICES]) writeFileSync(join(installed, `${name}.env`), '');
    const result = await run('systemd-analyze', ['verify', '--man=no', ...units.map((name) => join(installed, name))]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });
});
