// The bus's statements as PostgreSQL saw them, for benches 1–3: calls, plans, planning and execution time,
// from pg_stat_statements of the bench's own database, where the server has it loaded with track_planning
// (the machine's PostgreSQL 15 through BENCH_DATABASE_URL; the embedded server has neither). Load-independent
// beside the wall-clock figures: how often a statement is planned, and how long planning and running take.
import pg from 'pg';
import { fmt } from './lib.ts';

interface Row {
  query: string;
  calls: number;
  plans: number;
  planMs: number;
  execMs: number;
}

export interface StatementStats {
  /** The statements of the bus roles run since `start`, busiest first; undefined without pg_stat_statements. */
  stop(): Promise<Row[] | undefined>;
}

/** Starts counting the statements of the login roles of `role` (a service's group role) in the database of `adminUrl`. */
export async function busStatements(adminUrl: string, role: string): Promise<StatementStats> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'bench-bus-statements' });
  client.on('error', () => undefined); // a connection lost only loses these notes (read() answers undefined)
  await client.connect();
  const read = async (): Promise<Map<string, Row> | undefined> => {
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      const { rows } = await client.query<{
        queryid: string;
        query: string;
        calls: string;
        plans: string;
        plan_ms: number;
        exec_ms: number;
      }>(
        `SELECT s.queryid::text, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 80) AS query, s.calls::text,
                s.plans::text, s.total_plan_time AS plan_ms, s.total_exec_time AS exec_ms
         FROM pg_stat_statements s
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND s.userid IN (SELECT oid FROM pg_roles WHERE NOT rolsuper AND pg_has_role(oid, $1, 'member'))`,
        [role],
      );
      return new Map(
        rows.map((r) => [
          r.queryid,
          { query: r.query, calls: Number(r.calls), plans: Number(r.plans), planMs: r.plan_ms, execMs: r.exec_ms },
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
      await client.end().catch(() => undefined);
      if (!before || !after) return undefined;
      return [...after]
        .map(([id, row]) => {
          const was = before.get(id);
          return {
            query: row.query,
            calls: row.calls - (was?.calls ?? 0),
            plans: row.plans - (was?.plans ?? 0),
            planMs: row.planMs - (was?.planMs ?? 0),
            execMs: row.execMs - (was?.execMs ?? 0),
          };
        })
        .filter((row) => row.calls > 0)
        .sort((a, b) => b.planMs + b.execMs - (a.planMs + a.execMs));
    },
  };
}

/** Report lines: per `unit` (event, commit), and per call the mean planning and execution time. */
export function statementNotes(rows: Row[] | undefined, units: number, unit: string, top = 8): string[] {
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
