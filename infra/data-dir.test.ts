import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@llmops/kit/config';
import { useDataDir } from './data-dir.ts';

const scratch = mkdtempSync(join(tmpdir(), 'llmops-data-dir-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const refusal = (dataDir: string) => {
  try {
    useDataDir(dataDir);
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('the data folder', () => {
  it('is made when missing', () => {
    expect(refusal(join(scratch, 'new', 'data'))).toBeUndefined();
  });

  it('is refused in one line when it is a file, or below one', () => {
    const file = join(scratch, 'file');
    writeFileSync(file, '');
    for (const [dataDir, why] of [
      [file, 'it is a file, not a folder (EEXIST)'],
      [join(file, 'data'), 'a part of its path is a file, not a folder (ENOTDIR)'],
    ] as const) {
      const error = refusal(dataDir);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        `LLMOPS_DATA_DIR: cannot use ${dataDir} as the data folder: ${why}. Make it a folder this user can write, or set LLMOPS_DATA_DIR to one.`,
      );
    }
  });

  it('is refused in one line when it cannot be written (sysfs refuses even root)', () => {
    for (const dataDir of ['/sys/llmops-data', '/sys/kernel']) {
      const error = refusal(dataDir);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(
        new RegExp(`^LLMOPS_DATA_DIR: cannot use ${dataDir} as the data folder: [a-z -]+ \\(E[A-Z]+\\)\\. Make it`),
      );
    }
  });
});
