/**
 * Backup and restore of the embedded default (`npm run llmops -- backup FILE` / `restore FILE`), which
 * ships no pg_dump. A backup is a physical copy of the data folder made while nothing runs on it: the
 * PostgreSQL cluster (`postgres/`), `secrets.json` (the cluster's admin password and the services'
 * role passwords, which the cluster's roles must match) and `master-keys` (without it the provider
 * keys in the database cannot be opened), in one gzip'd tar file with a manifest. A stopped cluster's
 * files are consistent by themselves, so the copy needs no cooperation from PostgreSQL; the data
 * folder's lock (instance-lock.ts) is held throughout, so `npm start` cannot begin meanwhile.
 * The file holds every secret of the install: it is written mode 0600.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { claimDataDir, isSupervisorAlive, lockPath, readLock, type LockHolder } from './instance-lock.ts';

/** A refusal the operator can act on (the CLI prints it and exits 1). */
export class BackupRefused extends Error {
  override name = 'BackupRefused';
}

const MANIFEST = 'llmops-backup.json';
const FORMAT = 1;
/** What a backup holds, relative to the data folder; nothing else is ever restored. */
const PARTS = ['postgres', 'secrets.json', 'master-keys'] as const;

interface Manifest {
  format: number;
  created_at: string;
  /** The PostgreSQL major version of the cluster: a restore needs the same one (the embedded package's). */
  postgres_major: string;
  parts: string[];
}

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: Manifest;
}

export interface RestoreResult {
  manifest: Manifest;
  /** Where the data the restore replaced was moved (undefined when the folder held none). */
  setAside: string | undefined;
}

/** Runs `tar` with `args`: its output goes to the file descriptor `output`, else is returned as text. */
function tar(args: string[], output?: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', output ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new BackupRefused('The `tar` command is missing: install it (any Linux or macOS has it).')
          : error,
      ),
    );
    child.once('exit', (code) =>
      code === 0 ? resolvePromise(stdout) : reject(new Error(`tar ${args[0]} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
}

/** Refuses while LLM Ops or its PostgreSQL runs on the folder; else holds the folder's lock until released. */
function holdStoppedDataDir(dataDir: string, holder: LockHolder): () => void {
  const lock = readLock(lockPath(dataDir));
  if (lock && isSupervisorAlive(lock.pid)) {
    const what = lock.holder
      ? `A ${lock.holder} of it is running (pid ${lock.pid})`
      : `LLM Ops is running from it (supervisor pid ${lock.pid})`;
    throw new BackupRefused(
      `Cannot ${holder} ${dataDir} now: ${what}. ` +
        (lock.holder
          ? 'Wait for it to finish.'
          : `Stop it first (Ctrl-C in its terminal, or \`kill ${lock.pid}\`): the ${holder} copies the data folder while nothing runs on it.`),
    );
  }
  const postmaster = join(dataDir, 'postgres', 'postmaster.pid');
  const pid = existsSync(postmaster) ? Number(readFileSync(postmaster, 'utf8').split('\n')[0]) : NaN;
  if (Number.isInteger(pid) && pid > 0 && processExists(pid))
    throw new BackupRefused(
      `Cannot ${holder} ${dataDir} now: its PostgreSQL is still running (pid ${pid}, ${postmaster}). Stop LLM Ops and wait for PostgreSQL to exit.`,
    );
  try {
    return claimDataDir(dataDir, holder);
  } catch (error) {
    throw new BackupRefused((error as Error).message);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a backup of the stopped embedded install in `dataDir` to `file` (which must not exist). */
export async function backup(dataDir: string, file: string): Promise<BackupResult> {
  const target = resolve(file);
  if (existsSync(target)) throw new BackupRefused(`${target} exists already: name a new file (a backup never overwrites one).`);
  if (!existsSync(dirname(target))) throw new BackupRefused(`No folder ${dirname(target)} to write ${basename(target)} in.`);
  if (!existsSync(join(dataDir, 'postgres', 'PG_VERSION')))
    throw new BackupRefused(
      `No embedded database in ${dataDir} (no postgres/PG_VERSION). Point LLMOPS_DATA_DIR at the data folder of \`npm start\`.`,
    );
  const release = holdStoppedDataDir(dataDir, 'backup');
  const scratch = mkdtempSync(join(tmpdir(), 'llmops-backup-'));
  const partial = `${target}.partial`;
  try {
    const parts = PARTS.filter((part) => existsSync(join(dataDir, part)));
    const manifest: Manifest = {
      format: FORMAT,
      created_at: new Date().toISOString(),
      postgres_major: readFileSync(join(dataDir, 'postgres', 'PG_VERSION'), 'utf8').trim(),
      parts,
    };
    writeFileSync(join(scratch, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    // Written to a file of our own (mode 0600: it holds every secret) and renamed when whole.
    const fd = openSync(partial, 'wx', 0o600);
    try {
      await tar(['-czf', '-', '-C', scratch, MANIFEST, '-C', dataDir, '--exclude=postgres/postmaster.pid', ...parts], fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, target);
    return { file: target, bytes: statSync(target).size, manifest };
  } finally {
    rmSync(partial, { force: true });
    rmSync(scratch, { recursive: true, force: true });
    release();
  }
}

/** Reads and checks a backup's manifest and member list before anything is changed. */
async function readBackup(file: string): Promise<Manifest> {
  let members: string[];
  try {
    members = (await tar(['-tzf', file])).split('\n').filter(Boolean);
  } catch (error) {
    throw new BackupRefused(`${file} is not a backup made by \`llmops backup\` (${(error as Error).message}).`);
  }
  if (!members.includes(MANIFEST))
    throw new BackupRefused(`${file} is not a backup made by \`llmops backup\` (no ${MANIFEST} in it).`);
  const stray = members.filter((member) => {
    const top = member.split('/')[0] as string;
    return member !== MANIFEST && (!(PARTS as readonly string[]).includes(top) || member.split('/').includes('..'));
  });
  if (stray.length > 0)
    throw new BackupRefused(`${file} holds files a backup never does (${stray.slice(0, 3).join(', ')}): not restored.`);
  const manifest = JSON.parse(await tar(['-xzOf', file, MANIFEST])) as Manifest;
  if (manifest.format !== FORMAT)
    throw new BackupRefused(`${file} is a backup of format ${manifest.format}; this version reads format ${FORMAT}.`);
  if (!manifest.parts.includes('postgres') || !manifest.parts.includes('secrets.json'))
    throw new BackupRefused(`${file} lacks the cluster or secrets.json: it cannot be restored.`);
  return manifest;
}

/**
 * Restores `file` into `dataDir`: refused while anything runs there; the data it replaces is moved
 * aside (never deleted) into `before-restore-<time>/` in the same folder, and said.
 */
export async function restore(dataDir: string, file: string): Promise<RestoreResult> {
  const source = resolve(file);
  if (!existsSync(source)) throw new BackupRefused(`No file ${source}.`);
  const manifest = await readBackup(source);
  mkdirSync(dataDir, { recursive: true });
  const release = holdStoppedDataDir(dataDir, 'restore');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const unpacked = join(dataDir, `restore-${stamp}.partial`);
  try {
    mkdirSync(unpacked, { mode: 0o755 });
    await tar(['-xzf', source, '-C', unpacked, ...manifest.parts]);
    const present = PARTS.filter((part) => existsSync(join(dataDir, part)));
    let setAside: string | undefined;
    if (present.length > 0) {
      setAside = join(dataDir, `before-restore-${stamp}`);
      mkdirSync(setAside, { mode: 0o700 });
      for (const part of present) renameSync(join(dataDir, part), join(setAside, part));
    }
    for (const part of manifest.parts) renameSync(join(unpacked, part), join(dataDir, part));
    return { manifest, setAside };
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
    release();
  }
}
