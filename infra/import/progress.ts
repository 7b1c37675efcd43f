/**
 * The import's progress bar: one line redrawn on a terminal (`\r`), nothing at all anywhere else, so logs,
 * pipes and CI output hold only the summary.
 */
export type Progress = (step: string, done: number, total: number) => void;

export function progressBar(stream: NodeJS.WriteStream): { update: Progress; clear(): void } {
  if (!stream.isTTY) return { update: () => undefined, clear: () => undefined };
  let last = '';
  const clear = () => {
    if (last) stream.write(`\r${' '.repeat(last.length)}\r`);
    last = '';
  };
  const update: Progress = (step, done, total) => {
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - step.length - 20));
    const filled = Math.round(share * width);
    const line = `${step} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(share * 100)}%`;
    if (line === last) return;
    stream.write(`\r${line}${' '.repeat(Math.max(0, last.length - line.length))}`);
    last = line;
  };
  return { update, clear };
}
