/**
 * A bus position: the writing transaction's id (xid8) and the outbox row id, compared in that order.
 * Readers only read below their snapshot's xmin, so a position is commit-safe: nothing can appear
 * behind it later (docs/adr/0001-commit-safe-bus-positions.md). Its string form "<txid>-<id>" is what
 * the gateway's SSE uses as the event id.
 */
export interface Position {
  readonly txid: bigint;
  readonly id: bigint;
}

/** Before every event. */
export const ORIGIN: Position = { txid: 0n, id: 0n };

const MAX_XID8 = (1n << 64n) - 1n;
const MAX_BIGINT = (1n << 63n) - 1n;
const FORMAT = /^(\d{1,20})-(\d{1,19})$/;

export class InvalidPositionError extends Error {
  override name = 'InvalidPositionError';
}

export function formatPosition(position: Position): string {
  return `${position.txid}-${position.id}`;
}

/** Parses "<txid>-<id>"; anything else (or out of range) is an InvalidPositionError. */
export function parsePosition(text: string): Position {
  const match = FORMAT.exec(text);
  if (!match) {
    throw new InvalidPositionError(
      `${JSON.stringify(text.slice(0, 60))} is not a bus position: expected "<txid>-<id>", two decimal numbers`,
    );
  }
  const txid = BigInt(match[1] as string);
  const id = BigInt(match[2] as string);
  if (txid > MAX_XID8 || id > MAX_BIGINT) throw new InvalidPositionError(`bus position ${text} is out of range`);
  return { txid, id };
}

/** True when `text` is a well-formed position string. */
export function isPosition(text: string): boolean {
  try {
    parsePosition(text);
    return true;
  } catch {
    return false;
  }
}

export function comparePositions(a: Position, b: Position): number {
  if (a.txid !== b.txid) return a.txid < b.txid ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

export function laterPosition(a: Position, b: Position): Position {
  return comparePositions(a, b) >= 0 ? a : b;
}

/** From the text columns of a query (xid8 and bigint arrive as strings). */
export function positionFromRow(txid: string, id: string | number): Position {
  return { txid: BigInt(txid), id: BigInt(id) };
}

/** Query parameters `$n::xid8, $m::bigint`. */
export function positionParams(position: Position): [string, string] {
  return [position.txid.toString(), position.id.toString()];
}
