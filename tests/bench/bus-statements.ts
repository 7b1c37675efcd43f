// Statements as PostgreSQL saw them, for benches 1–3 (the bus role) and 6 (every service): calls, plans,
// planning and execution time, from pg_stat_statements of the bench's own database, where the server has it
// loaded (with track_planning for the plans: the machine's PostgreSQL 15 through BENCH_DATABASE_URL; the embedded
// server has neither). Load-independent beside the wall-clock figures: how often a statement is planned, and how
// long planning and running take.
import pg from 'pg';
import { fmt } from './lib.ts';

export interface StatementRow {
  /** The login role, without the `llmops_` prefix. */
  role: string;
  query: string;
  calls: number;
  plans: number;
  planMs: number;
  execMs: number;
  rows: number;
  blocks: number;
}

export interface StatementCounts {
  /** The statements run since the count began, busiest first (planning and execution); undefined without pg_stat_statements. */
  stop(): Promise<StatementRow[] | undefined>;
}

/**
 * Counts the statements run in the database `db` is connected to, from now until `stop`, by role and text: of the
 * login roles that are members of `role` when given, else of every role. `db` is the bench's admin connection.
 */
export async function countStatements(db: pg.Pool | pg.Client, role?: string): Promise<StatementCounts> {
  const read = async (): Promise<Map<string, StatementRow> | undefined> => {
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      const { rows } = await db.query<{
        key: string;
        role: string;
        query: string;
        calls: string;
        plans: string;
        plan_ms: number;
        exec_ms: number;
        rows: string;
        blocks: string;
      }>(
        `SELECT s.userid::text || ':' || s.queryid::text AS key, r.rolname AS role,
                left(regexp_replace(s.query, '\\s+', ' ', 'g'), 90) AS query, s.calls::text, s.plans::text,
                s.total_plan_time AS plan_ms, s.total_exec_time AS exec_ms, s.rows::text,
                (s.shared_blks_hit + s.shared_blks_read)::text AS blocks
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND ($1::text IS NULL OR (NOT r.rolsuper AND pg_has_role(r.oid, $1, 'member')))`,
        [role ?? null],
      );
      return new Map(
        rows.map((r) => [
          r.key,
          {
            role: r.role.replace(/^llmops_/, ''),
            query: r.query,
            calls: Number(r.calls),
            plans: Number(r.plans),
            planMs: r.plan_ms,
            execMs: r.exec_ms,
            rows: Number(r.rows),
            blocks: Number(r.blocks),
          },
        ]),
      );
    } catch {
      return undefined;
    }
  };
  const before = await read();
  return {
    async stop() {
      const after = await read();
      if (!before || !after) return undefined;
      return [...after]
        .map(([key, row]) => {
          const was = before.get(key);
          return {
            ...row,
            calls: row.calls - (was?.calls ?? 0),
            plans: row.plans - (was?.plans ?? 0),
            planMs: row.planMs - (was?.planMs ?? 0),
            execMs: row.execMs - (was?.execMs ?? 0),
            rows: row.rows - (was?.rows ?? 0),
            blocks: row.blocks - (was?.blocks ?? 0),
          };
        })
        .filter((row) => row.calls > 0)
        .sort((a, b) => b.planMs + b.execMs - (a.planMs + a.execMs));
    },
  };
}

/** Starts counting the statements of the login roles of `role` (a service's group role) in the database of `adminUrl`. */
export async function busStatements(adminUrl: string, role: string): Promise<StatementCounts> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'bench-bus-statements' });
  client.on('error', () => undefined); // a connection lost only loses these notes (read() answers undefined)
  await client.connect();
  const counts = await countStatements(client, role);
  return {
    async stop() {
      const rows = await counts.stop();
      await client.end().catch(() => undefined);
      return rows;
    },
  };
}

/** Report lines: per `unit` (event, commit), and per call the mean planning and execution time. */
export function statementNotes(rows: StatementRow[] | undefined, units: number, unit: string, top = 8): string[] {
  if (!rows) return [];
  return [
    `pg_stat_statements of the bus role (per ${unit}: calls, plans; per call: plan / exec ms):`,
    ...rows
      .slice(0, top)
      .map(
        (row) =>
          `  ${fmt(row.calls / units, 3)} calls, ${fmt(row.plans / units, 3)} plans; ` +
          `${fmt(row.plans > 0 ? row.planMs / row.plans : 0, 3)} / ${fmt(row.execMs / row.calls, 3)} ms: "${row.query}"`,
      ),
  ];
}
