import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/*
 * Random bytes for ids come from a pool refilled 256 ids at a time: one getrandom call per id (randomBytes)
 * was 2–3 % of the runner's CPU profile, where a claim makes ids for every slot (docs/bench.md, issue 14).
 * Each 16-byte slice is handed out once and overwritten by the next refill only after every slice was used.
 */
const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let next = POOL_IDS;

/** 16 random bytes no other id has been given, writable until the pool is refilled (make the id at once). */
function randomSixteen(): Buffer {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const start = 16 * next++;
  return pool.subarray(start, start + 16);
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, with a 12-bit counter in
 * `rand_a` so ids made in the same millisecond by this process still sort in creation order.
 */
export function uuidv7(): string {
  const bytes = randomSixteen();
  let ms = Date.now();
  if (ms <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      lastMs++;
      sequence = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    sequence = bytes.readUInt8(6) & 0x07; // a random start, leaving room to count up
  }
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes.readUInt8(8) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A UUIDv7 of a given moment (Unix milliseconds), random after it: for a record made now of something that
 * happened then (a legacy interaction kept as a task), so lists in id order show it where it happened.
 */
export function uuidv7At(ms: number): string {
  const bytes = randomSixteen();
  bytes.writeUIntBE(Math.max(0, Math.trunc(ms)), 0, 6);
  bytes[6] = 0x70 | (bytes.readUInt8(6) & 0x0f);
  bytes[8] = (bytes.readUInt8(8) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
