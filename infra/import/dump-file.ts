/**
 * A plain-SQL pg_dump file as the legacy source (docs/migration.md, "From a dump file"). The project ships no
 * psql and must not need the machine's, so the importer loads the dump itself into a scratch database it
 * creates on the system's own PostgreSQL server, reads it like a live source, and drops it. Statements run
 * one by one; `COPY … FROM stdin` blocks are streamed to the server (pg-copy-streams), never held whole.
 * What a plain dump holds for another server is reported, not fatal: psql meta-commands (`\connect`,
 * `\restrict` of newer pg_dump) and database-level statements are skipped, and OWNER, role, privilege and
 * setting statements that fail here (their role does not exist on this server) are listed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent, withClient, withDatabase } from '@llmops/kit/db';
import { DumpSplitter, statementHead } from './dump-split.ts';

/** What loading the dump did, for the report. */
export interface DumpReport {
  file: string;
  /** Statements run, and rows copied by its COPY blocks. */
  statements: number;
  copied_rows: number;
  /** Lines not run here: meta-commands and database-level statements, each with why. */
  skipped: { line: number; text: string; reason: string }[];
  /** Statements that failed without harm to the data (owners, roles, privileges, settings), with the server's error. */
  failed: { line: number; text: string; error: string }[];
}

export interface LoadedDump {
  /** The scratch database's URL, to read as the source. */
  url: string;
  /** The name the import records the source under: the dump's database, else the file's name. */
  source: string;
  report: DumpReport;
  drop(): Promise<void>;
}

/** The dump cannot be loaded: where, and why. */
export class DumpError extends Error {}

export type DumpProgress = (bytesRead: number, bytesTotal: number) => void;

/** Failing here, these do not change the data: their roles or settings belong to the dump's server. */
const HARMLESS = [
  /^ALTER\s[\s\S]*\sOWNER\s+TO\s/i,
  /^(GRANT|REVOKE)\s/i,
  /^(CREATE|ALTER|DROP)\s+(ROLE|USER|GROUP)\s/i,
  /^SET\s/i,
  /^SELECT\s+pg_catalog\.set_config\s*\(/i,
  /^COMMENT\s+ON\s+(SCHEMA|EXTENSION)\s/i,
  /^CREATE\s+SCHEMA\s+(IF\s+NOT\s+EXISTS\s+)?public\s*;/i,
];
/** Statements about databases: the dump is loaded into the scratch database, never into one it names. */
const DATABASE_LEVEL = /^(CREATE|ALTER|DROP)\s+DATABASE\s/i;
const CREATE_DATABASE = /^CREATE\s+DATABASE\s+("(?:[^"]|"")+"|[^\s;]+)/i;

const oneLine = (text: string, max = 160): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const unquote = (name: string): string => (name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name);

/** The database a `\connect` names, when it names one plainly or as `dbname='…'`. */
function connectTarget(meta: string): string | undefined {
  const dbname = /dbname='((?:[^'\\]|\\.)*)'/.exec(meta)?.[1];
  if (dbname !== undefined) return dbname.replace(/\\(.)/g, '$1');
  const word = /^\\(?:connect|c)\s+(?!-)("(?:[^"]|"")+"|\S+)/.exec(meta)?.[1];
  return word === undefined ? undefined : unquote(word);
}

/** Scratch names: per dump file and process, so a later run knows what a killed one left (its process is gone). */
const SCRATCH = /^llmops_legacy_scratch_([0-9a-f]{12})_(\d+)$/;
const fileKey = (file: string): string => createHash('sha256').update(resolve(file)).digest('hex').slice(0, 12);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Drops the scratch databases of `file` whose import process is gone (killed half-way through a load). */
async function dropLeftovers(serverUrl: string, file: string): Promise<void> {
  await withClient(serverUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'llmops\\_legacy\\_scratch\\_%'`,
    );
    for (const { datname } of rows) {
      const match = SCRATCH.exec(datname);
      if (match && match[1] === fileKey(file) && Number(match[2]) !== process.pid && !alive(Number(match[2])))
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    }
  });
}

/**
 * Loads `file` into a new scratch database on the server of `serverUrl` (an admin connection: it creates and
 * drops a database). A scratch database left by a killed run is dropped first. On failure nothing is left.
 */
export async function loadDump(file: string, serverUrl: string, progress?: DumpProgress): Promise<LoadedDump> {
  const total = statSync(file).size;
  await dropLeftovers(serverUrl, file);
  const name = `llmops_legacy_scratch_${fileKey(file)}_${process.pid}`;
  const drop = () =>
    withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).then(
      () => undefined,
    );
  await drop();
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING 'UTF8'`));
  const url = withDatabase(serverUrl, name);
  try {
    const { report, database } = await withClient(url, (client) => run(client, file, total, progress));
    return { url, source: database ?? (basename(file).replace(/(\.sql)?(\.txt)?$/i, '') || 'legacy'), report, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

async function run(
  client: pg.Client,
  file: string,
  total: number,
  progress: DumpProgress | undefined,
): Promise<{ report: DumpReport; database: string | undefined }> {
  const report: DumpReport = { file: resolve(file), statements: 0, copied_rows: 0, skipped: [], failed: [] };
  // The scratch database is thrown away after the read: no statement need wait for its commit to reach disk.
  await client.query('SET synchronous_commit = off');
  let database: string | undefined;
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  const splitter = new DumpSplitter();
  let copy: { stream: ReturnType<typeof copyFrom>; line: number; chunk: string; failed?: Error } | undefined;
  let lineCount = 0;

  const flush = async () => {
    if (!copy || copy.chunk === '') return;
    const { stream } = copy;
    // A COPY the server refused takes no more data; its error is raised at the block's end.
    const ok = copy.failed !== undefined || stream.write(copy.chunk);
    copy.chunk = '';
    if (!ok)
      await new Promise((done) => {
        stream.once('drain', done);
        stream.once('error', done);
        stream.once('close', done);
      });
  };
  const fail = (line: number, what: string, error: unknown): never => {
    throw new DumpError(`${file}, line ${line}: ${what} failed: ${(error as Error).message}`);
  };

  const handle = async (piece: ReturnType<DumpSplitter['push']>[number]) => {
    if (piece.kind === 'meta') {
      if (/^\\(connect|c)\s/.test(piece.text)) database = connectTarget(piece.text) ?? database;
      report.skipped.push({
        line: piece.line,
        text: oneLine(piece.text.replace(/^(\\(?:un)?restrict)\s+\S+/, '$1 …')),
        reason: 'a psql meta-command, not SQL: skipped',
      });
    } else if (piece.kind === 'copy-start') {
      const stream = client.query(copyFrom(piece.sql));
      copy = { stream, line: piece.line, chunk: '' };
      const current = copy;
      stream.on('error', (error: Error) => {
        current.failed = error;
      });
    } else if (piece.kind === 'copy-data') {
      if (!copy) return;
      copy.chunk += `${piece.text}\n`;
      if (copy.chunk.length >= 64 * 1024) await flush();
    } else if (piece.kind === 'copy-end') {
      if (!copy) return;
      const current = copy;
      await flush();
      current.stream.end();
      await finished(current.stream).catch((error: unknown) => fail(current.line, 'the COPY block', error));
      if (current.failed) fail(current.line, 'the COPY block', current.failed);
      report.copied_rows += current.stream.rowCount;
      report.statements++;
      copy = undefined;
    } else {
      const head = statementHead(piece.sql);
      if (DATABASE_LEVEL.test(head)) {
        const named = CREATE_DATABASE.exec(head)?.[1];
        if (named) database = unquote(named);
        report.skipped.push({
          line: piece.line,
          text: oneLine(head),
          reason: 'about a database: the dump goes into a scratch database instead',
        });
        return;
      }
      try {
        await client.query(piece.sql);
        report.statements++;
      } catch (error) {
        if (!HARMLESS.some((pattern) => pattern.test(head))) fail(piece.line, `"${oneLine(head, 80)}"`, error);
        report.failed.push({ line: piece.line, text: oneLine(head), error: (error as Error).message });
      }
    }
  };

  for await (const line of lines) {
    for (const piece of splitter.push(line)) await handle(piece);
    if (++lineCount % 2000 === 0) progress?.(input.bytesRead, total);
  }
  for (const piece of splitter.end()) await handle(piece);
  progress?.(total, total);
  return { report, database };
}
