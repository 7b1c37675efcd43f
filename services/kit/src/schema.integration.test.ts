import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { many, withClient, isPgError, PgCode } from './db.ts';
import { applySchema, readSqlFiles, SchemaAheadError, SqlFileError } from './schema.ts';
import { useTestDatabase } from './testing/vitest.ts';
import { SERVICES } from './services.ts';

const db = await useTestDatabase();

function sqlDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmops-sql-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name.split('/')[0] as string), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('the SQL runner', () => {
  it('has applied every file of sql/ to the template, once each', async () => {
    const rows = await withClient(db.adminUrl, (c) =>
      many<{ name: string }>(c, 'SELECT name FROM llmops_meta.schema_ledger ORDER BY name'),
    );
    expect(rows.map((r) => r.name).sort()).toEqual(
      readSqlFiles()
        .map((f) => f.name)
        .sort(),
    );
    const again = await applySchema(db.adminUrl);
    expect(again.applied).toEqual([]);
  });

  it('rolls back a failing file whole and names the file, line and statement', async () => {
    const dir = sqlDir({
      'registry/000001_schema.sql': 'CREATE SCHEMA registry;',
      'registry/000002_broken.sql':
        'CREATE TABLE registry.half_written (id int);\n\nINSERT INTO registry.no_such_table VALUES (1);\n',
    });
    const scratch = await useScratch();
    const error = await applySchema(scratch, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlFileError);
    expect((error as SqlFileError).message).toContain('sql/registry/000002_broken.sql line 3');
    expect((error as SqlFileError).statement).toBe('INSERT INTO registry.no_such_table VALUES (1);');
    const tables = await withClient(scratch, (c) => many(c, "SELECT 1 FROM pg_tables WHERE tablename = 'half_written'"));
    expect(tables).toEqual([]);
    const ledger = await withClient(scratch, (c) => many<{ name: string }>(c, 'SELECT name FROM llmops_meta.schema_ledger'));
    expect(ledger.map((r) => r.name)).toEqual(['registry/000001_schema.sql']);
  });

  it('refuses a database that is ahead of the code, and an applied file that was edited', async () => {
    const scratch = await useScratch();
    await applySchema(scratch, { dir: sqlDir({ 'prompt/000001_a.sql': 'SELECT 1;', 'prompt/000002_b.sql': 'SELECT 2;' }) });
    await expect(applySchema(scratch, { dir: sqlDir({ 'prompt/000001_a.sql': 'SELECT 1;' }) })).rejects.toThrow(SchemaAheadError);
    await expect(
      applySchema(scratch, { dir: sqlDir({ 'prompt/000001_a.sql': 'SELECT 10;', 'prompt/000002_b.sql': 'SELECT 2;' }) }),
    ).rejects.toThrow(/edited afterwards: sql\/prompt\/000001_a.sql/);
  });

  it('applies nothing twice when two starts race', async () => {
    const scratch = await useScratch();
    const dir = sqlDir({ 'gateway/000001_a.sql': 'CREATE TABLE public.once (id int); INSERT INTO public.once VALUES (1);' });
    const results = await Promise.all([applySchema(scratch, { dir }), applySchema(scratch, { dir })]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 1]);
  });
});

describe('per-service roles', () => {
  it('lets each service use its own schema and the bus, and nothing of another service', async () => {
    for (const service of SERVICES) {
      await withClient(db.urlFor(service), async (client) => {
        await client.query(`CREATE TABLE ${service}.probe_${service} (id int)`).catch(() => undefined);
        for (const other of SERVICES.filter((s) => s !== service)) {
          const error = await client.query(`SELECT 1 FROM ${other}.probe_${other}`).catch((e: unknown) => e);
          expect(isPgError(error, PgCode.insufficientPrivilege), `${service} reading ${other}`).toBe(true);
        }
      });
    }
  });

  it('lets a service read and write tables the admin created in its schema, and no other', async () => {
    await withClient(db.adminUrl, (c) => c.query('CREATE TABLE registry.owned (id int); CREATE TABLE runner.kept (id int)'));
    await withClient(db.urlFor('registry'), async (client) => {
      await client.query('INSERT INTO registry.owned VALUES (1)');
      expect((await client.query('SELECT id FROM registry.owned')).rows).toEqual([{ id: 1 }]);
      const error = await client.query('SELECT * FROM runner.kept').catch((e: unknown) => e);
      expect(isPgError(error, PgCode.insufficientPrivilege)).toBe(true);
    });
  });
});

/** An empty database of this test's own, for runs of the runner with made-up sql/ folders. */
async function useScratch(): Promise<string> {
  const name = `${db.name}_s${Math.random().toString(36).slice(2, 8)}`;
  await withClient(db.adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  return db.adminUrl.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
}
