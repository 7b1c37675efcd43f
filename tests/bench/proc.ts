// CPU time of processes from /proc/<pid>/stat (Linux): what every bench that measures CPU per task or per
// request reads, independent of how fast a loaded machine let the work run.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command's name (index 0: state, 1: ppid, 11–14: times); undefined when gone. */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process, user and system (with `children`, of its reaped children too; with `system`, the
 * kernel's share alone); NaN when the process is gone.
 */
export function cpuSeconds(pid: number, { children = false, system = false } = {}): number {
  const f = statFields(pid);
  if (!f) return Number.NaN;
  const ticks = system
    ? Number(f[12]) + (children ? Number(f[14]) : 0)
    : Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds of a PostgreSQL cluster: the postmaster, its live children and those it reaped. */
export function clusterSeconds(postmaster: number): number {
  let total = cpuSeconds(postmaster, { children: true });
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    // A child that ended between the listing and its read counts in the postmaster's reaped time instead.
    if (f && Number(f[1]) === postmaster) total += cpuSeconds(Number(entry)) || 0;
  }
  return total;
}
