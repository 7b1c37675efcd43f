// Loaded into a service process by the runner bench (`NODE_OPTIONS=--import=<this file>`), so the
// process itself measures what only it can see: its event-loop delay and its memory. The service's own
// code is untouched; the bench asks over the process's IPC channel (startStack's process mode keeps one).
import { monitorEventLoopDelay } from 'node:perf_hooks';

export type ToProbe = { type: 'bench-probe'; action: 'reset' | 'report' };

export interface ProbeReport {
  type: 'bench-probe-report';
  /**
   * Event-loop delay since the last reset, milliseconds: how late a 10 ms timer fired (the histogram
   * records whole intervals, so the resolution is taken off).
   */
  delay: { p50: number; p99: number; max: number; mean: number };
  /** Highest resident set size and V8 heap in use since the last reset, sampled every 250 ms, bytes. */
  peakRss: number;
  peakHeapUsed: number;
  rss: number;
  heapUsed: number;
}

const RESOLUTION_MS = 10;

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let peakRss = 0;
  let peakHeapUsed = 0;
  const sample = () => {
    const memory = process.memoryUsage();
    peakRss = Math.max(peakRss, memory.rss);
    peakHeapUsed = Math.max(peakHeapUsed, memory.heapUsed);
    return memory;
  };
  // process.memoryUsage() walks the heap's spaces: often enough for peaks, rarely enough to cost nothing.
  setInterval(sample, 250).unref();
  process.on('message', (message: ToProbe) => {
    if (message?.type !== 'bench-probe') return;
    if (message.action === 'reset') {
      histogram.reset();
      peakRss = 0;
      peakHeapUsed = 0;
      sample();
      return;
    }
    const memory = sample();
    const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    const report: ProbeReport = {
      type: 'bench-probe-report',
      delay: {
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
        mean: ms(histogram.mean),
      },
      peakRss,
      peakHeapUsed,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
    };
    process.send?.(report);
  });
  // A listener on 'message' keeps the IPC channel referenced; the service exits through process.exit anyway.
  process.channel?.unref();
}
