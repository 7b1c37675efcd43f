// The words of `npm run bench -- …`: which benchmarks and which of their parts run, and how big.

/** A benchmark as the command line knows it. */
export interface BenchEntry {
  name: string;
  /** The names of its parts: words after its name that name one choose those parts alone. */
  parts?: readonly string[];
  /** Runs only when named (the 1M-task history: long, and it builds a template database of its own). */
  whenAsked?: boolean;
}

export interface BenchChoice {
  quick: boolean;
  /** The benchmarks to run, in the registry's order, each with the parts chosen (empty: all of them). */
  run: Array<{ name: string; parts: string[] }>;
}

/**
 * `latency runner drain dashboard live --quick`: names of benchmarks, each optionally followed by names of
 * its parts; `--quick` anywhere. No name runs every benchmark but those that run only when asked. A word
 * that names neither a benchmark nor a part of the one before it is an error that lists what exists.
 */
export function parseArgs(args: readonly string[], registry: readonly BenchEntry[]): BenchChoice {
  let quick = false;
  const chosen = new Map<string, string[]>();
  let current: BenchEntry | undefined;
  for (const word of args) {
    if (word === '--quick') {
      quick = true;
      continue;
    }
    if (word.startsWith('-')) throw new Error(`unknown option ${word}; the one option is --quick`);
    if (current?.parts?.includes(word)) {
      const parts = chosen.get(current.name) ?? [];
      if (!parts.includes(word)) parts.push(word);
      continue;
    }
    const entry = registry.find((bench) => bench.name === word);
    if (!entry) {
      const parted = current?.parts ? ` (parts of ${current.name}: ${current.parts.join(', ')})` : '';
      throw new Error(`unknown benchmark ${word}${parted}; the benchmarks: ${registry.map(describe).join(', ')}`);
    }
    if (!chosen.has(entry.name)) chosen.set(entry.name, []);
    current = entry;
  }
  const run = registry
    .filter((bench) => (chosen.size > 0 ? chosen.has(bench.name) : !bench.whenAsked))
    .map((bench) => ({ name: bench.name, parts: chosen.get(bench.name) ?? [] }));
  return { quick, run };
}

const describe = (bench: BenchEntry) => (bench.whenAsked ? `${bench.name} (only when asked)` : bench.name);
