/**
 * `npm run llmops -- <command>`: the operator CLI. Runs from the repository against the configured
 * database: DATABASE_URL (an admin role of that server), else the embedded one that `npm start` runs
 * (read from .data/runtime.json).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { generatePasswords, loginRole, provisionLogins, serviceDatabaseUrl, type ServicePasswords } from '@llmops/kit/roles';
import { redactUrlPasswords } from '@llmops/kit/logger';
import { withClient } from '@llmops/kit/db';
import { applySchema, readSqlFiles, schemaStatus } from '@llmops/kit/schema';
import { SERVICES } from '@llmops/kit/services';
import { SCOPES, type Scope } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';
import { formatKeyring, generateMasterKey, keyringOf, parseKeyring, type Keyring } from '@llmops/kit/crypto/keyring';
import { RotationRefused, rotateKeys } from '@llmops/registry/operator';
import { loadOrCreateSecrets, masterKeysPath, readMasterKeys, writeMasterKeys } from './secrets.ts';
import {
  createAccountAsOperator,
  createTokenAsOperator,
  OperatorInputError,
  revokeTokenAsOperator,
  setupLink,
} from '@llmops/gateway/operator';
import { commandHelp, EMULATOR_PORT, globalHelp, parseCommandLine, usage, UsageError, type CommandName } from './cli-usage.ts';
import { isSupervisorAlive, lockPath, readLock } from './instance-lock.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const dataDir = resolve(process.env.LLMOPS_DATA_DIR ?? join(ROOT, '.data'));
const runtimePath = join(dataDir, 'runtime.json');

interface Runtime {
  supervisor_pid: number;
  urls: Record<string, string>;
  pids: Record<string, number | null>;
  /** `direct_url`: the supervisor's DATABASE_DIRECT_URL, when its DATABASE_URL is a pooler. */
  database: { embedded: boolean; url: string; direct_url?: string };
}

function readRuntime(): Runtime | undefined {
  return existsSync(runtimePath) ? (JSON.parse(readFileSync(runtimePath, 'utf8')) as Runtime) : undefined;
}

/** Where the CLI looked for a running install, and how to point it at another one. */
function notRunningHere(): string {
  const lock = readLock(lockPath(dataDir));
  if (lock && isSupervisorAlive(lock.pid))
    return `LLM Ops is starting from ${dataDir} (supervisor pid ${lock.pid}); ask again once it prints "LLM Ops is running".`;
  return (
    `LLM Ops is not running from ${dataDir} (no runtime.json there). If \`npm start\` runs with another data folder, ` +
    `point the CLI at it: LLMOPS_DATA_DIR=/that/folder npm run llmops -- <command>. Otherwise start it with \`npm start\`.`
  );
}

function adminUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const runtime = readRuntime();
  if (runtime) return runtime.database.url;
  fail(
    `No database: set DATABASE_URL to an admin connection, or use the embedded one of a running \`npm start\`. ${notRunningHere()}`,
  );
}

/**
 * Where work that holds a session goes (the schema runner's and roles' advisory locks): DATABASE_DIRECT_URL
 * when DATABASE_URL is a transaction-mode pooler, else the admin URL.
 */
function sessionUrl(): string {
  if (process.env.DATABASE_DIRECT_URL) return process.env.DATABASE_DIRECT_URL;
  // A running `npm start` behind a pooler recorded its direct URL: the locks go there, as the supervisor's do.
  if (!process.env.DATABASE_URL) {
    const direct = readRuntime()?.database.direct_url;
    if (direct) return direct;
  }
  return adminUrl();
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function status(): Promise<void> {
  const runtime = readRuntime();
  if (!runtime) fail(notRunningHere());
  if (!isSupervisorAlive(runtime.supervisor_pid))
    fail(
      `LLM Ops is not running from ${dataDir}: its runtime.json is left from a supervisor that is gone (pid ${runtime.supervisor_pid}). Start it with \`npm start\`.`,
    );
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

async function db(sub: string | undefined, options: { deployment?: string; 'passwords-from-env'?: boolean }): Promise<void> {
  if (sub === 'status') {
    const url = adminUrl();
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
    const { applied, alreadyApplied } = await applySchema(sessionUrl());
    process.stdout.write(
      `applied ${applied.length} file(s)${applied.map((n) => `\n  sql/${n}`).join('')}\n${alreadyApplied} already applied\n`,
    );
    return;
  }
  if (sub === 'roles') {
    const deployment = options.deployment;
    if (!deployment) throw usage('db', 'Say which deployment the roles are for: --deployment NAME.');
    if (options['passwords-from-env']) {
      const passwords = passwordsFromEnv();
      await provisionLogins(adminUrl(), deployment, passwords);
      process.stdout.write(
        `Login roles for deployment "${deployment}" are set with the passwords of LLMOPS_DB_PASSWORD_<SERVICE>: ${SERVICES.map((s) => loginRole(s, deployment)).join(', ')}.\n`,
      );
      return;
    }
    const url = adminUrl();
    const direct = process.env.DATABASE_DIRECT_URL;
    const passwords = generatePasswords();
    await provisionLogins(direct ?? url, deployment, passwords);
    process.stdout.write(
      `Login roles for deployment "${deployment}" are set. Give each service its own DATABASE_URL${direct ? ' and DATABASE_DIRECT_URL' : ''} (shown once):\n`,
    );
    for (const service of SERVICES) {
      process.stdout.write(`  ${service.padEnd(9)} ${serviceDatabaseUrl(url, service, deployment, passwords)}\n`);
      if (direct)
        process.stdout.write(`  ${''.padEnd(9)} ${serviceDatabaseUrl(direct, service, deployment, passwords)} (direct)\n`);
    }
    return;
  }
  throw unknownSub('db', sub);
}

/** Each service's login password from LLMOPS_DB_PASSWORD_<SERVICE> (a deployment's env file), or a refusal naming every one missing. */
function passwordsFromEnv(): ServicePasswords {
  const variable = (service: string) => `LLMOPS_DB_PASSWORD_${service.toUpperCase()}`;
  const missing = SERVICES.filter((service) => !process.env[variable(service)]).map(variable);
  if (missing.length > 0) fail(`--passwords-from-env: set ${missing.join(', ')} (a password for each service's login role).`);
  return Object.fromEntries(SERVICES.map((service) => [service, process.env[variable(service)] as string])) as ServicePasswords;
}

/** A missing or unknown subcommand: said, with the command's help. */
function unknownSub(command: CommandName, sub: string | undefined): UsageError {
  return usage(
    command,
    sub === undefined ? `Say what to do: ${command} <subcommand>.` : `Unknown subcommand "${command} ${sub}".`,
  );
}

function roleOption(command: CommandName, role: string | undefined): Role {
  if (role === 'admin' || role === 'editor' || role === 'viewer') return role;
  throw usage(command, 'Say which role: --role admin, --role editor or --role viewer.');
}

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Input the operator commands refused, field by field, as the options that carry it (exit 2). */
function refusedInput(what: string, error: OperatorInputError, flags: Record<string, string>): UsageError {
  const lines = error.problems.map(({ field, message }) => `  ${flags[field] ?? field}: ${message}`);
  return new UsageError(`Could not ${what}:\n${lines.join('\n')}`);
}

async function account(
  sub: string | undefined,
  options: { email?: string; name?: string; role?: string; 'password-stdin'?: boolean },
): Promise<void> {
  if (sub === 'setup-link') {
    const url = adminUrl();
    const web = readRuntime()?.urls.web ?? process.env.WEB_URL ?? 'http://127.0.0.1:7400';
    const link = await setupLink(url, web);
    if (!link) fail('An account exists already: setup is done. Sign in, or create accounts with `account create`.');
    process.stdout.write(
      `Open this link to create the first admin (single use, until ${link.expiresAt.toISOString()}):\n  ${link.url}\n`,
    );
    return;
  }
  if (sub === 'create') {
    if (!options.email || !options.name) throw usage('account', 'Say who: account create --email E --name N --role R.');
    const role = roleOption('account', options.role);
    const url = adminUrl();
    const given = options['password-stdin'] ? await readStdinLine() : undefined;
    const password = given ?? randomBytes(18).toString('base64url');
    const created = await createAccountAsOperator(url, { email: options.email, name: options.name, role, password }).catch(
      (error: unknown) => {
        if (error instanceof OperatorInputError)
          throw refusedInput('create the account', error, {
            email: '--email',
            name: '--name',
            role: '--role',
            password: 'the password',
          });
        return fail(`Could not create the account: ${(error as Error).message}`);
      },
    );
    process.stdout.write(`Created ${created.role} account ${created.email} (${created.id}).\n`);
    if (!given) process.stdout.write(`Its password (shown once): ${password}\n`);
    return;
  }
  throw unknownSub('account', sub);
}

const MAX_TOKEN_DAYS = 36_500;

async function token(
  sub: string | undefined,
  id: string | undefined,
  options: { role?: string; name?: string; account?: string; scopes?: string; 'expires-days'?: string },
): Promise<void> {
  if (sub === 'create') {
    const role = roleOption('token', options.role);
    if (!options.name) throw usage('token', 'Name the token: token create --role R --name NAME.');
    const scopes = options.scopes?.split(',').map((scope) => scope.trim()) as Scope[] | undefined;
    const unknown = scopes?.filter((scope) => !(SCOPES as readonly string[]).includes(scope)) ?? [];
    if (unknown.length > 0) throw usage('token', `Unknown scope(s) ${unknown.join(', ')}; known: ${SCOPES.join(', ')}.`);
    const daysText = options['expires-days'];
    const days = daysText === undefined ? undefined : Number(daysText);
    if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= MAX_TOKEN_DAYS))
      throw usage(
        'token',
        `--expires-days takes a whole number of days from 1 to ${MAX_TOKEN_DAYS} (got ${JSON.stringify(daysText)}).`,
      );
    const created = await createTokenAsOperator(adminUrl(), {
      role,
      name: options.name,
      ...(options.account ? { account: options.account } : {}),
      ...(scopes ? { scopes } : {}),
      ...(days ? { expiresAt: new Date(Date.now() + days * 86_400_000) } : {}),
    }).catch((error: unknown) => {
      if (error instanceof OperatorInputError)
        throw refusedInput('create the token', error, { name: '--name', scopes: '--scopes', expires_at: '--expires-days' });
      return fail(`Could not create the token: ${(error as Error).message}`);
    });
    process.stderr.write(
      `Token ${created.row.id} "${created.row.name}" for ${created.account.email} (${created.row.scopes.join(', ')}). Shown once:\n`,
    );
    process.stdout.write(`${created.secret}\n`);
    return;
  }
  if (sub === 'revoke') {
    if (!id || !/^[0-9a-f-]{36}$/i.test(id))
      throw usage('token', 'Say which token: token revoke <id> (the id `token create` printed).');
    const revoked = await revokeTokenAsOperator(adminUrl(), id).catch((error: unknown) =>
      fail(`Could not revoke it: ${(error as Error).message}`),
    );
    process.stdout.write(`Revoked token ${revoked.id} "${revoked.name}".\n`);
    return;
  }
  throw unknownSub('token', sub);
}

/**
 * `key rotate`: a new current master key, every provider key re-encrypted under it. The keyring is
 * LLMOPS_MASTER_KEYS when set (the new value is printed first, to put where the registry reads it),
 * else the embedded default's .data/master-keys (rewritten first). Either way the new keyring is
 * [new, old current] and is in place before any key is re-encrypted, so a failure half-way loses nothing.
 */
async function key(sub: string | undefined, options: { 'drop-previous'?: boolean }): Promise<void> {
  if (sub !== 'rotate') throw unknownSub('key', sub);
  const fromEnv = process.env.LLMOPS_MASTER_KEYS;
  const text = fromEnv ?? readMasterKeys(dataDir);
  if (!text)
    fail(
      `No master keyring: set LLMOPS_MASTER_KEYS to the registry's keyring, or run \`npm start\` once so the embedded default makes ${masterKeysPath(dataDir)}.`,
    );
  let from: Keyring;
  try {
    from = parseKeyring(text);
  } catch (error) {
    fail((error as Error).message);
  }
  const to = keyringOf([generateMasterKey(), from.current]);
  const value = formatKeyring(to.keys);
  const url = adminUrl();
  // The new keyring is put in place once every key is known to open with the old one, before any is re-sealed.
  const putInPlace = () => {
    if (fromEnv) {
      process.stdout.write(
        `New keyring (current key ${to.current.id}, then ${from.current.id}). Give it to the registry as its LLMOPS_MASTER_KEYS and restart it:\n\nLLMOPS_MASTER_KEYS=${value}\n\n`,
      );
    } else {
      writeMasterKeys(dataDir, value);
      process.stdout.write(`Wrote the new keyring to ${masterKeysPath(dataDir)} (current key ${to.current.id}).\n`);
    }
  };
  const result = await rotateKeys(url, {
    from,
    to,
    dropPrevious: options['drop-previous'] === true,
    beforeReencrypt: putInPlace,
  }).catch((error: unknown) => (error instanceof RotationRefused ? fail(error.message) : Promise.reject(error)));
  process.stdout.write(
    `Re-encrypted ${result.reencrypted} provider key(s) under ${result.to}. ` +
      (options['drop-previous']
        ? 'Previous envelopes were dropped: restart every registry process now.\n'
        : `Running registry processes keep working through the previous envelopes; restart them to use ${result.to}.\n`),
  );
}

/**
 * `emulator [--port N]`: the provider emulator as a local stand-in (docs/providers.md, "Trying without a
 * key"), until Ctrl-C. It registers nothing: the operator adds it as a provider, knowingly.
 */
async function emulator(options: Record<string, string | boolean | undefined>): Promise<void> {
  const given = options.port;
  const port = given === undefined ? EMULATOR_PORT : Number(given);
  if (typeof given === 'string' && !/^\d{1,5}$/.test(given))
    throw new UsageError(`--port takes a port number (0 to 65535), not "${given}".`);
  if (port > 65_535) throw new UsageError(`--port takes a port number (0 to 65535), not ${port}.`);
  // Loaded only for this command: the others never pay for it.
  const { startEmulator } = await import('@llmops/emulator/server');
  const running = await startEmulator({ port }).catch((error: unknown) =>
    fail(
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `Port ${port} is taken; choose another with --port N (or --port 0 for any free one).`
        : `The emulator could not start: ${(error as Error).message}`,
    ),
  );
  process.stdout.write(
    [
      `Provider emulator listening on ${running.url} — a local stand-in, not a real provider: its models answer "You said: <your last message>".`,
      'It is not registered by itself. To try LLM Ops with it, add a provider in the dashboard (Providers → Add) with one of:',
      `  kind openai      base URL ${running.baseUrl('openai')}      any key`,
      `  kind anthropic   base URL ${running.baseUrl('anthropic')}   any key`,
      `  kind ollama      base URL ${running.baseUrl('ollama')}      no key`,
      'then import its models (Discover). Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.stop();
}

/**
 * `import legacy --from URL|FILE [--apply]`: the legacy importer (docs/migration.md) against the running
 * services, as the `importer` service identity. A dump file is loaded into a scratch database on the
 * system's own server (DATABASE_URL, else the embedded one), read, and dropped.
 */
async function importCommand(sub: string | undefined, options: Record<string, string | boolean | undefined>): Promise<void> {
  if (sub !== 'legacy') throw unknownSub('import', sub);
  const from = options.from;
  if (typeof from !== 'string' || from === '')
    throw usage(
      'import',
      'Say which legacy database: --from postgres://user@host/blog, or --from ./blog_backup.sql (a pg_dump file).',
    );
  const isUrl = /^postgres(ql)?:\/\//.test(from);
  if (!isUrl && !existsSync(from))
    throw usage(
      'import',
      `No file ${resolve(from)}: give a plain-SQL pg_dump file, or a postgres:// URL of the legacy database.`,
    );
  const batch = options.batch === undefined ? undefined : Number(options.batch);
  if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1 && batch <= 500))
    throw usage('import', '--batch N: records per request to the runner, a whole number from 1 to 500.');
  const source = options.source;
  if (source !== undefined && !(typeof source === 'string' && /^[A-Za-z0-9_.-]{1,63}$/.test(source)))
    throw usage(
      'import',
      '--source NAME: letters, digits, _, . and -, at most 63 (a database name, as the first run recorded it).',
    );
  const runtime = readRuntime();
  const registry = process.env.REGISTRY_URL ?? runtime?.urls.registry;
  const prompt = process.env.PROMPT_URL ?? runtime?.urls.prompt;
  const workflow = process.env.WORKFLOW_URL ?? runtime?.urls.workflow;
  const runner = process.env.RUNNER_URL ?? runtime?.urls.runner;
  if (!registry || !prompt || !workflow) fail(notRunningHere());
  const secret =
    process.env.LLMOPS_INTERNAL_SECRET ??
    (existsSync(join(dataDir, 'secrets.json')) ? loadOrCreateSecrets(dataDir).internalSecret : undefined);
  if (!secret)
    fail(
      `No internal secret: set LLMOPS_INTERNAL_SECRET to the services' one, or run from the data folder of \`npm start\` (${dataDir}).`,
    );
  const { importLegacy, formatSummary, ImportRefused } = await import('./import/legacy-import.ts');
  const { progressBar } = await import('./import/progress.ts');
  const bar = progressBar(process.stderr);
  const summary = await importLegacy({
    from,
    apply: options.apply === true,
    targets: { registry, prompt, workflow, runner, secret },
    scratchServer: isUrl ? undefined : adminUrl(),
    batch,
    source,
    progress: bar.update,
  }).catch((error: unknown) => {
    bar.clear();
    return fail(
      error instanceof ImportRefused
        ? error.message
        : `The import failed: ${(error as Error).message}. Run it again: what it finished is kept and not imported twice.`,
    );
  });
  bar.clear();
  process.stdout.write(formatSummary(summary));
  const summaryPath =
    typeof options.summary === 'string' ? resolve(options.summary) : join(dataDir, 'legacy-import-summary.json');
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`The summary as JSON: ${summaryPath}\n`);
}

/**
 * `backup FILE` / `restore FILE`: the embedded default's data folder, copied while it is stopped
 * (infra/backup.ts). With DATABASE_URL the server is not ours to copy: its own tools are named instead.
 */
async function backupCommand(command: 'backup' | 'restore', file: string | undefined): Promise<void> {
  if (!file) throw usage(command, `Say which file: ${command} FILE.`);
  if (process.env.DATABASE_URL)
    fail(
      `DATABASE_URL is set: LLM Ops runs on your own PostgreSQL server, so ${command} it with that server's own tools ` +
        `(pg_dump / pg_restore, or pg_basebackup with WAL archiving for point-in-time recovery); see docs/deployment.md. ` +
        `\`${command}\` copies the embedded default's data folder only.`,
    );
  const { backup, restore, BackupRefused } = await import('./backup.ts');
  const refused = (error: unknown) => (error instanceof BackupRefused ? fail(error.message) : Promise.reject(error));
  if (command === 'backup') {
    const made = await backup(dataDir, file).catch(refused);
    process.stdout.write(
      `Backed up ${dataDir} (PostgreSQL ${made.manifest.postgres_major}; ${made.manifest.parts.join(', ')}) to ${made.file} ` +
        `(${(made.bytes / 1_048_576).toFixed(1)} MiB, mode 0600: it holds the install's secrets and master keys).\n`,
    );
    return;
  }
  const done = await restore(dataDir, file).catch(refused);
  process.stdout.write(
    `Restored the backup of ${done.manifest.created_at} into ${dataDir}.` +
      (done.setAside ? ` The data it replaced is in ${done.setAside} (delete it once you are sure).` : '') +
      ' Start LLM Ops with `npm start`.\n',
  );
}

/** Runs the command line: wrong usage is said with the help that fits, and exits 2. */
async function run(argv: readonly string[]): Promise<void> {
  const { command, words, values, help } = parseCommandLine(argv);
  const [sub, id] = words;
  if (command === undefined || (command === 'help' && sub === undefined)) {
    process.stdout.write(`${globalHelp()}\n`);
  } else if (command === 'help') {
    // `help <command>`: parsing that as a command line checks the name.
    const named = parseCommandLine([sub as string]).command as CommandName;
    process.stdout.write(`${commandHelp(named)}\n`);
  } else if (help) {
    process.stdout.write(`${commandHelp(command)}\n`);
  } else if (command === 'status') {
    await status();
  } else if (command === 'db') {
    await db(sub, values);
  } else if (command === 'account') {
    await account(sub, values);
  } else if (command === 'token') {
    await token(sub, id, values);
  } else if (command === 'import') {
    await importCommand(sub, values);
  } else if (command === 'emulator') {
    await emulator(values);
  } else if (command === 'backup' || command === 'restore') {
    await backupCommand(command, sub);
  } else {
    await key(sub, values);
  }
}

await run(process.argv.slice(2)).catch((error: unknown) => {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
});
