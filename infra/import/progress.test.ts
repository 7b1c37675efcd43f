import { describe, expect, it } from 'vitest';
import { progressBar } from './progress.ts';

const streamOf = (isTTY: boolean) => {
  const written: string[] = [];
  const stream = { isTTY, columns: 80, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, written };
};

describe('the import progress bar', () => {
  it('writes nothing when the output is not a terminal (a pipe, a log, CI)', () => {
    const { stream, written } = streamOf(false);
    const bar = progressBar(stream);
    bar.update('Loading the dump', 5, 10);
    bar.clear();
    expect(written).toEqual([]);
  });

  it('redraws one line on a terminal, and clears it before the summary', () => {
    const { stream, written } = streamOf(true);
    const bar = progressBar(stream);
    bar.update('Records', 1, 4);
    bar.update('Records', 1, 4);
    bar.update('Records', 4, 4);
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(/^\rRecords \[#+\.+\] 25%$/);
    expect(written[1]).toMatch(/^\rRecords \[#+\] 100%$/);
    bar.clear();
    expect(written[2]).toMatch(/^\r +\r$/);
  });
});
