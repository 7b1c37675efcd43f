import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from './logger.ts';
import type { Queryable } from './db.ts';

/** The repository's sql/ folder. */
export const SQL_DIR = fileURLToPath(new URL('../../../sql/', import.meta.url));

/** Schemas in the order their files apply when two share a number; `bus` first, it creates the roles. */
export const SCHEMA_ORDER = ['bus', 'registry', 'prompt', 'runner', 'gateway', 'workflow'] as const;

const FILE_NAME = /^(\d{6})_[a-z0-9_]+\.sql$/;
const LOCK_KEY = 7_400_001; // pg_advisory_lock key reserved for the schema runner

export interface SqlFile {
  /** `registry/000001_init.sql`: the ledger's key. */
  name: string;
  schema: string;
  number: number;
  path: string;
  text: string;
  checksum: string;
}

/** Every file under sql/, in the order it applies: by number, then by SCHEMA_ORDER. */
export function readSqlFiles(dir: string = SQL_DIR): SqlFile[] {
  const files: SqlFile[] = [];
  for (const schema of readdirSync(dir, { withFileTypes: true })) {
    if (!schema.isDirectory()) continue;
    if (!(SCHEMA_ORDER as readonly string[]).includes(schema.name)) {
      throw new Error(`sql/${schema.name}/ is not a known schema (expected one of ${SCHEMA_ORDER.join(', ')})`);
    }
    for (const entry of readdirSync(join(dir, schema.name))) {
      const match = FILE_NAME.exec(entry);
      if (!match) throw new Error(`sql/${schema.name}/${entry}: file names must look like 000001_short_name.sql`);
      const path = join(dir, schema.name, entry);
      const text = readFileSync(path, 'utf8');
      files.push({
        name: `${schema.name}/${entry}`,
        schema: schema.name,
        number: Number(match[1]),
        path,
        text,
        checksum: createHash('sha256').update(text).digest('hex'),
      });
    }
  }
  const rank = (schema: string) => (SCHEMA_ORDER as readonly string[]).indexOf(schema);
  return files.sort((a, b) => a.number - b.number || rank(a.schema) - rank(b.schema));
}

/** A SQL file that failed: names the file, the line and the statement. Nothing of the file was applied. */
export class SqlFileError extends Error {
  override name = 'SqlFileError';
  readonly file: string;
  readonly line: number | undefined;
  readonly statement: string | undefined;
  constructor(file: SqlFile, cause: pg.DatabaseError) {
    const position = cause.position ? Number(cause.position) : undefined;
    const line = position === undefined ? undefined : file.text.slice(0, position).split('\n').length;
    const statement = position === undefined ? undefined : statementAt(file.text, position - 1);
    super(
      `sql/${file.name}${line ? ` line ${line}` : ''} failed and was rolled back: ${cause.message}` +
        (statement ? `\n  in statement: ${statement}` : '') +
        '\nFix the file (or add a new one) and start again; no part of it was applied.',
      { cause },
    );
    this.file = file.name;
    this.line = line;
    this.statement = statement;
  }
}

/** The statement around a character offset: from the previous `;` to the next, trimmed. */
function statementAt(text: string, offset: number): string {
  const start = text.lastIndexOf(';', offset) + 1;
  const end = text.indexOf(';', offset);
  return text
    .slice(start, end === -1 ? undefined : end + 1)
    .replace(/^\s*(--[^\n]*\n\s*)*/, '')
    .trim();
}

/** The database knows files this code does not: refuse to run against it. */
export class SchemaAheadError extends Error {
  override name = 'SchemaAheadError';
}

const LEDGER = `
  CREATE SCHEMA IF NOT EXISTS llmops_meta;
  CREATE TABLE IF NOT EXISTS llmops_meta.schema_ledger (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );`;

export interface ApplyResult {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Applies every file of sql/ not yet in the ledger, each once, each in its own transaction with its
 * ledger row, under an advisory lock so concurrent starts apply nothing twice. Runs as the admin role.
 */
export async function applySchema(
  adminUrl: string,
  { dir = SQL_DIR, log }: { dir?: string; log?: Logger } = {},
): Promise<ApplyResult> {
  const files = readSqlFiles(dir);
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'llmops-schema' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SET client_min_messages = warning');
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(LEDGER);
    const ledger = new Map(
      (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM llmops_meta.schema_ledger')).rows.map(
        (row) => [row.name, row.checksum],
      ),
    );
    assertNotAhead(files, ledger);
    const applied: string[] = [];
    for (const file of files) {
      if (ledger.has(file.name)) continue;
      await client.query('BEGIN');
      try {
        await client.query('INSERT INTO llmops_meta.schema_ledger (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
        await client.query(file.text);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error instanceof pg.DatabaseError ? new SqlFileError(file, error) : error;
      }
      log?.info({ file: file.name }, 'applied SQL file');
      applied.push(file.name);
    }
    return { applied, alreadyApplied: files.length - applied.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function assertNotAhead(files: SqlFile[], ledger: Map<string, string>): void {
  const known = new Map(files.map((file) => [file.name, file]));
  const unknown = [...ledger.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SchemaAheadError(
      `The database is ahead of this code: it has ${unknown.map((n) => `sql/${n}`).join(', ')} applied, which this checkout does not have. ` +
        'Update the code, or point DATABASE_URL at the database this code belongs to.',
    );
  }
  const changed = files.filter((file) => ledger.has(file.name) && ledger.get(file.name) !== file.checksum);
  if (changed.length > 0) {
    throw new SchemaAheadError(
      `Applied SQL files were edited afterwards: ${changed.map((f) => `sql/${f.name}`).join(', ')}. ` +
        'Files are forward-only: restore them and put the change in a new file.',
    );
  }
}

export interface SchemaStatus {
  current: boolean;
  /** Files in the code that the database has not applied. */
  pending: string[];
  /** Files the database has applied that the code does not know. */
  unknown: string[];
}

/** Compares the ledger with the code's files, for /readyz. Readable by every service role. */
export async function schemaStatus(db: Queryable, files: SqlFile[]): Promise<SchemaStatus> {
  const { rows } = await db.query<{ name: string }>('SELECT name FROM llmops_meta.schema_ledger');
  const applied = new Set(rows.map((row) => row.name));
  const names = new Set(files.map((file) => file.name));
  const pending = files.filter((file) => !applied.has(file.name)).map((file) => file.name);
  const unknown = [...applied].filter((name) => !names.has(name));
  return { current: pending.length === 0 && unknown.length === 0, pending, unknown };
}
