/** Every timing of the bus, in milliseconds. Defaults suit production; tests pass short ones. */
export interface BusConfig {
  /** Idle readers look at the outbox at least this often, doorbell or not. */
  sweepMs: number;
  /** Under load — busyProgressCount batches within busyWindowMs — a reader polls every busyPollMs instead of waiting. */
  busyWindowMs: number;
  busyProgressCount: number;
  busyPollMs: number;
  /**
   * Under sustained load a consumer group waits between leases so events gather: busyPollMs while its
   * batches are large, longer (up to this) while they are small, so a fast handler is not given one
   * statement per event or two (docs/events.md).
   */
  gatherMaxMs: number;
  /** Short polls after a reader marks itself waiting, closing the race with a committing producer. */
  lingerMs: readonly number[];
  /** Re-poll delay (doubling up to the max) while committed events are held back by an older open transaction. */
  heldBackMinMs: number;
  heldBackMaxMs: number;
  /** Log a warning when events stay held back this long (a forgotten open transaction somewhere). */
  heldBackWarnMs: number;
  /** How long the process's waiter row stays live after a reader went idle. */
  waiterTtlMs: number;
  /** How often the LISTEN connection checks it is alive. */
  listenCheckMs: number;
  /** application_name of the LISTEN connection (one per process). */
  listenApplicationName?: string;
  /** Consumer groups: lease of a partition or a parked event, extended every third of it while work runs. */
  leaseMs: number;
  /** Events read per batch. */
  batchSize: number;
  /** Partitions (and parked events) one instance of a group works on at once. */
  concurrency: number;
  /** Attempts before an event is dead (the first delivery counts). */
  maxAttempts: number;
  /** Retry backoff: base * 2^(attempt-1), capped, with jitter (50-100 %). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Retention of processed outbox rows; false turns this process's retention job off. */
  retention: { maxAgeMs: number; intervalMs: number; batchSize: number } | false;
  /** Ephemeral streams: one NOTIFY round per tick, each payload at most maxBytes. */
  ephemeralTickMs: number;
  ephemeralMaxBytes: number;
}

export const DEFAULT_BUS_CONFIG: BusConfig = {
  sweepMs: 1_000,
  busyWindowMs: 50,
  busyProgressCount: 10,
  busyPollMs: 5,
  gatherMaxMs: 20,
  lingerMs: [5, 20, 50],
  heldBackMinMs: 10,
  heldBackMaxMs: 250,
  heldBackWarnMs: 10_000,
  waiterTtlMs: 3_000,
  listenCheckMs: 10_000,
  leaseMs: 30_000,
  batchSize: 500,
  concurrency: 4,
  maxAttempts: 8,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  retention: { maxAgeMs: 7 * 24 * 3_600_000, intervalMs: 10 * 60_000, batchSize: 5_000 },
  ephemeralTickMs: 50,
  ephemeralMaxBytes: 7_900,
};

export function resolveBusConfig(overrides: Partial<BusConfig> = {}): BusConfig {
  const config = { ...DEFAULT_BUS_CONFIG, ...overrides };
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value > 0)) {
      throw new Error(`bus config ${name} must be a positive number, got ${value}`);
    }
  }
  if (config.waiterTtlMs <= config.sweepMs) throw new Error('bus config waiterTtlMs must be longer than sweepMs');
  return config;
}
