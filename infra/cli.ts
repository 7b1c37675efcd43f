/**
 * `npm run llmops -- <command>`: the operator CLI. Runs from the repository against the configured
 * database: DATABASE_URL (an admin role of that server), else the embedded one that `npm start` runs
 * (read from .data/runtime.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generatePasswords, provisionLogins, serviceDatabaseUrl } from '@llmops/kit/roles';
import { redactUrlPasswords } from '@llmops/kit/logger';
import { withClient } from '@llmops/kit/db';
import { applySchema, readSqlFiles, schemaStatus } from '@llmops/kit/schema';
import { SERVICES } from '@llmops/kit/services';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const dataDir = process.env.LLMOPS_DATA_DIR ?? join(ROOT, '.data');

const HELP = `LLM Ops operator CLI

  npm run llmops -- status                     is everything up? (reads .data/runtime.json)
  npm run llmops -- db status                  which SQL files the database has applied
  npm run llmops -- db apply                   apply sql/ (as npm start does)
  npm run llmops -- db roles --deployment NAME create or reset each service's login role and
                                               print its DATABASE_URL once (for deployments)

The database is DATABASE_URL (an admin role), else the embedded server of a running \`npm start\`.`;

interface Runtime {
  urls: Record<string, string>;
  pids: Record<string, number | null>;
  database: { embedded: boolean; url: string };
}

function readRuntime(): Runtime | undefined {
  const path = join(dataDir, 'runtime.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Runtime) : undefined;
}

function adminUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const runtime = readRuntime();
  if (runtime) return runtime.database.url;
  fail('No database: set DATABASE_URL to an admin connection, or run `npm start` first for the embedded one.');
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function status(): Promise<void> {
  const runtime = readRuntime();
  if (!runtime) fail('LLM Ops is not running here (no .data/runtime.json). Start it with `npm start`.');
  let allReady = true;
  for (const [name, url] of Object.entries(runtime.urls)) {
    const path = name === 'web' ? '/healthz' : '/readyz';
    const result = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(3_000) }).then(
      async (response) => ({ ok: response.ok, body: await response.text() }),
      (error: unknown) => ({ ok: false, body: (error as Error).message }),
    );
    allReady &&= result.ok;
    process.stdout.write(
      `${result.ok ? '✔' : '✖'} ${name.padEnd(9)} ${url}  pid ${runtime.pids[name] ?? '-'}${result.ok ? '' : `  ${result.body}`}\n`,
    );
  }
  process.stdout.write(
    `  database  ${redactUrlPasswords(runtime.database.url)}${runtime.database.embedded ? ' (embedded)' : ''}\n`,
  );
  process.exit(allReady ? 0 : 1);
}

async function db(sub: string | undefined, options: { deployment?: string }): Promise<void> {
  const url = adminUrl();
  if (sub === 'status') {
    const files = readSqlFiles();
    const result = await withClient(url, (client) => schemaStatus(client, files)).catch((error: unknown) =>
      fail(`Could not read the schema ledger: ${(error as Error).message}`),
    );
    process.stdout.write(`${files.length} SQL files in sql/; ${files.length - result.pending.length} applied\n`);
    for (const name of result.pending) process.stdout.write(`  pending  sql/${name}\n`);
    for (const name of result.unknown) process.stdout.write(`  unknown  sql/${name} (the database is ahead of this code)\n`);
    process.exit(result.current ? 0 : 1);
  }
  if (sub === 'apply') {
    const { applied, alreadyApplied } = await applySchema(url);
    process.stdout.write(
      `applied ${applied.length} file(s)${applied.map((n) => `\n  sql/${n}`).join('')}\n${alreadyApplied} already applied\n`,
    );
    return;
  }
  if (sub === 'roles') {
    const deployment = options.deployment;
    if (!deployment) fail('Say which deployment the roles are for: --deployment NAME (lowercase letters, digits, _).');
    const passwords = generatePasswords();
    await provisionLogins(url, deployment, passwords);
    process.stdout.write(
      `Login roles for deployment "${deployment}" are set. Give each service its own DATABASE_URL (shown once):\n`,
    );
    for (const service of SERVICES)
      process.stdout.write(`  ${service.padEnd(9)} ${serviceDatabaseUrl(url, service, deployment, passwords)}\n`);
    return;
  }
  fail(HELP);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { deployment: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
const [command, sub] = positionals;
if (values.help || !command) {
  process.stdout.write(`${HELP}\n`);
} else if (command === 'status') {
  await status();
} else if (command === 'db') {
  await db(sub, values);
} else {
  fail(`Unknown command "${command}".\n\n${HELP}`);
}
