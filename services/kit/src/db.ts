import pg from 'pg';
import type { Logger } from './logger.ts';
import { redactUrlPasswords } from './logger.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Anything a query can run on: the pool, or a client inside a transaction. Query modules take it first. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** A named statement (`{ name, text, values }`) is parsed and planned once per connection: for hot paths. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig<unknown[]>): Promise<pg.QueryResult<R>>;
}

/** PostgreSQL error codes the code branches on, by name. */
export const PgCode = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  insufficientPrivilege: '42501',
  undefinedTable: '42P01',
  lockNotAvailable: '55P03',
  adminShutdown: '57P01',
  cannotConnectNow: '57P03',
  duplicateDatabase: '42P04',
  duplicateObject: '42710',
  invalidCatalogName: '3D000',
} as const;

/** True when `error` is a PostgreSQL error with the given code. */
export function isPgError(error: unknown, code: string): error is pg.DatabaseError {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

// bigint (int8) and numeric arrive as strings by default; counts are parsed where they are read,
// money stays a decimal string (ADR 0013). Timestamps are read as Date and written as RFC 3339. A
// calendar date (a spend month) stays its 'YYYY-MM-DD' text: as a Date it would be local midnight, a
// different day in some time zones.
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value);

export interface PoolConfig {
  connectionString: string;
  /** application_name shown in pg_stat_activity: which service and process. */
  applicationName: string;
  max?: number;
  log?: Logger;
  /**
   * False behind a pooler in transaction mode (PgBouncer before 1.21): a named statement is prepared on
   * one server connection and the next transaction may run on another, so every statement is sent
   * unnamed (parsed each time) instead. DATABASE_NAMED_STATEMENTS=off (docs/operations.md).
   */
  namedStatements?: boolean;
}

/** The pool's default size when a service's `<SERVICE>_DB_POOL_MAX` is not set. */
export const DEFAULT_POOL_MAX = 10;

/**
 * A pool that survives a PostgreSQL restart: idle clients that die are dropped and logged,
 * and the next query opens a fresh connection.
 */
export function createPool({
  connectionString,
  applicationName,
  max = DEFAULT_POOL_MAX,
  log,
  namedStatements = true,
}: PoolConfig): Pool {
  const pool = new pg.Pool({
    connectionString,
    application_name: applicationName,
    max,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  pool.on('error', (error) => {
    log?.warn({ err: error }, 'an idle database connection failed; it will be replaced on next use');
  });
  // A connection that fails while checked out (PostgreSQL restarted between two queries of a
  // transaction) emits 'error' on its client, where pg-pool no longer listens: without this listener
  // the process would die of it. Its query rejects instead, and the connection is dropped on release.
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      log?.warn({ err: error }, 'a database connection failed while in use; its work fails and it is replaced');
    });
    if (!namedStatements) sendUnnamed(client);
  });
  return pool;
}

/**
 * Makes `client` drop the `name` of every statement it is given, so none is prepared on the server
 * connection: the statement goes as an unnamed Parse/Bind/Execute, which a transaction-mode pooler
 * passes through within one transaction. Statements are named only in code on hot paths (the bus's
 * publish and lease-and-read, the runner's claim, attempts, prices, lease and endings).
 */
function sendUnnamed(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const unnamed = (config: unknown, ...rest: unknown[]) => {
    if (typeof config === 'object' && config !== null && 'name' in config && !('submit' in config)) {
      const copy: Record<string, unknown> = { ...config };
      delete copy.name;
      return query(copy, ...rest);
    }
    return query(config, ...rest);
  };
  client.query = unnamed as typeof client.query;
}

// The after-commit hooks of each transaction open in withTransaction, by its client.
const commitHooks = new WeakMap<object, Array<(pool: Pool) => void>>();

/**
 * Runs `hook` right after the transaction of `tx` commits, with the pool it came from (never when it
 * rolls back). Only transactions of withTransaction have hooks: false, and `hook` is never called, when
 * `tx` is anything else (the pool, or a client whose transaction is committed elsewhere). The same hook
 * registered again in one transaction runs once. A hook must
 * not throw; it runs after the caller's work is durable and cannot undo it.
 */
export function afterCommit(tx: Queryable, hook: (pool: Pool) => void): boolean {
  const hooks = commitHooks.get(tx);
  if (!hooks) return false;
  if (!hooks.includes(hook)) hooks.push(hook);
  return true;
}

// The open transactions of withTransaction, by client: their pool and what runs when they end either way.
const openTransactions = new WeakMap<object, { pool: Pool; onEnd: Array<() => void> }>();

/** The pool of a transaction of withTransaction that is open on `tx` (undefined for anything else). */
export function poolOfTransaction(tx: Queryable): Pool | undefined {
  return openTransactions.get(tx)?.pool;
}

/**
 * Runs `hook` once the transaction of `tx` has ended, committed or rolled back (after the afterCommit
 * hooks). False, and `hook` is never called, when `tx` is not a transaction of withTransaction.
 */
export function onTransactionEnd(tx: Queryable, hook: () => void): boolean {
  const open = openTransactions.get(tx);
  if (!open) return false;
  open.onEnd.push(hook);
  return true;
}

/** Runs `fn` in one transaction: commit when it resolves, roll back when it throws; then its afterCommit hooks. */
export async function withTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const hooks: Array<(pool: Pool) => void> = [];
  const onEnd: Array<() => void> = [];
  try {
    await client.query('BEGIN');
    commitHooks.set(client, hooks);
    openTransactions.set(client, { pool, onEnd });
    const result = await fn(client);
    commitHooks.delete(client);
    openTransactions.delete(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    commitHooks.delete(client);
    openTransactions.delete(client);
    hooks.length = 0;
    // A connection that cannot even roll back is gone: it is closed, not returned to the pool.
    broken = !(await client.query('ROLLBACK').then(
      () => true,
      () => false,
    ));
    throw error;
  } finally {
    client.release(broken);
    // Only reached with hooks after a COMMIT that succeeded: the catch above empties them.
    for (const hook of hooks) {
      try {
        hook(pool);
      } catch {
        // The transaction is committed; a failing hook (a wake-up hint) changes nothing about it.
      }
    }
    for (const hook of onEnd) {
      try {
        hook();
      } catch {
        // The transaction has ended; its end hooks only tidy up in-memory state.
      }
    }
  }
}

/** All rows. */
export async function many<R extends pg.QueryResultRow>(db: Queryable, text: string, values: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(text, values)).rows;
}

/** The first row, or undefined when there is none. */
export async function maybeOne<R extends pg.QueryResultRow>(
  db: Queryable,
  text: string,
  values: unknown[] = [],
): Promise<R | undefined> {
  return (await db.query<R>(text, values)).rows[0];
}

/** Exactly one row; anything else is a bug in the query or the caller. */
export async function one<R extends pg.QueryResultRow>(db: Queryable, text: string, values: unknown[] = []): Promise<R> {
  const { rows } = await db.query<R>(text, values);
  if (rows.length !== 1) throw new Error(`expected exactly one row, got ${rows.length}: ${text.slice(0, 120)}`);
  return rows[0] as R;
}

/** Connects once with a single client and closes it, for administrative work outside a pool. */
export async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, application_name: 'llmops-admin' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`could not connect to PostgreSQL at ${redactUrlPasswords(connectionString)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The server's major version, checked at start: ADR 0013 promises PostgreSQL 15 or later. */
export async function assertServerVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ server_version_num: string }>('SHOW server_version_num');
  const major = Math.floor(Number(rows[0]?.server_version_num) / 10_000);
  if (major < 15) throw new Error(`PostgreSQL ${major} is too old: LLM Ops needs PostgreSQL 15 or later`);
  return major;
}

/** Replaces user and password of a PostgreSQL URL. */
export function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** Replaces the database of a PostgreSQL URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Quotes an identifier for the rare statement that cannot take parameters (CREATE DATABASE, ALTER ROLE). */
export function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Quotes a literal for statements that cannot take parameters (role passwords); never used for queries. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot be quoted');
  return `'${value.replaceAll("'", "''")}'`;
}
