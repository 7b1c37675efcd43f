/**
 * The data folder of a local install (LLMOPS_DATA_DIR): the embedded database, the generated secrets,
 * the lock and runtime.json. A folder that cannot be used is refused before anything starts, in one
 * line that says what is wrong and what to do, instead of the file system's bare error code.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@llmops/kit/config';

const WHY: Record<string, string> = {
  EEXIST: 'it is a file, not a folder',
  ENOTDIR: 'a part of its path is a file, not a folder',
  EROFS: 'it is on a read-only file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
};

/** The one-line refusal for a file-system error met in the data folder; any other error as it was. */
export function dataDirError(dataDir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why = code === undefined ? undefined : WHY[code];
  if (why === undefined) return error;
  return new ConfigError(
    `LLMOPS_DATA_DIR: cannot use ${dataDir} as the data folder: ${why} (${code}). ` +
      'Make it a folder this user can write, or set LLMOPS_DATA_DIR to one.',
  );
}

/** Makes the data folder if it is missing and checks this process can write in it. */
export function useDataDir(dataDir: string): void {
  inDataDir(dataDir, () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    // A real write: access(W_OK) says yes to root where the file system still refuses (sysfs, some mounts).
    const probe = join(dataDir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  });
}

/** Runs `fn`, which reads or writes files of the data folder, with its file-system errors said plainly. */
export function inDataDir<T>(dataDir: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw dataDirError(dataDir, error);
  }
}
