/**
 * docs/data-model.md's diagrams, made from sql/schema-snapshot.txt: one mermaid `erDiagram` per schema,
 * every table with its columns, keys and foreign keys. The page's prose is written by hand; each diagram
 * stands between two markers that this module rewrites:
 *
 *   <!-- data-model:begin registry -->
 *   …generated…
 *   <!-- data-model:end registry -->
 *
 * `npm run schema:snapshot` rewrites the snapshot and then these blocks; infra/data-model.test.ts fails when
 * the page differs from what the committed snapshot gives, so the diagrams cannot drift from the schema.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
}

export interface ForeignKey {
  columns: string[];
  /** The referenced table, without its schema (every foreign key stays inside its schema). */
  table: string;
  references: string[];
}

export interface Table {
  schema: string;
  name: string;
  columns: Column[];
  primaryKey: string[];
  unique: string[][];
  foreignKeys: ForeignKey[];
}

/** The tables of a snapshot, in its order, keyed by `schema.table`. */
export function parseSnapshot(snapshot: string): Map<string, Table> {
  const tables = new Map<string, Table>();
  let section = '';
  for (const line of snapshot.split('\n')) {
    if (line.startsWith('-- ')) {
      section = line.slice(3);
      continue;
    }
    if (line.trim() === '') continue;
    if (section === 'tables') {
      const [qualified = '', kind = ''] = line.split('  ');
      if (!kind.startsWith('table')) continue;
      const [schema = '', name = ''] = qualified.split('.');
      tables.set(qualified, { schema, name, columns: [], primaryKey: [], unique: [], foreignKeys: [] });
    } else if (section === 'columns') {
      // `schema.table.001 name  type [not null] [default …] [generated …]`
      const match = /^(\w+\.\w+)\.\d+ (\w+) {2}(.*)$/.exec(line);
      const table = match && tables.get(match[1] ?? '');
      if (!match || !table) continue;
      const rest = match[3] ?? '';
      const type = (/^(.*?)(?= not null| default | generated |$)/.exec(rest)?.[1] ?? rest).trim();
      table.columns.push({ name: match[2] ?? '', type, nullable: !rest.includes(' not null') });
    } else if (section === 'constraints') {
      const [qualified = '', , definition = ''] = line.split('  ');
      const table = tables.get(qualified);
      if (!table) continue;
      const primary = /^PRIMARY KEY \(([^)]*)\)/.exec(definition);
      const unique = /^UNIQUE (?:NULLS NOT DISTINCT )?\(([^)]*)\)/.exec(definition);
      const foreign = /^FOREIGN KEY \(([^)]*)\) REFERENCES \w+\.(\w+)\(([^)]*)\)/.exec(definition);
      if (primary) table.primaryKey = names(primary[1]);
      else if (unique) table.unique.push(names(unique[1]));
      else if (foreign)
        table.foreignKeys.push({ columns: names(foreign[1]), table: foreign[2] ?? '', references: names(foreign[3]) });
    }
  }
  return tables;
}

function names(list: string | undefined): string[] {
  return (list ?? '').split(',').map((name) => name.trim());
}

// Mermaid takes an attribute's type as one word of letters, digits, `_`, `-`, `[]` and `()`.
const SHORT_TYPES: Record<string, string> = {
  'timestamp with time zone': 'timestamptz',
  'timestamp without time zone': 'timestamp',
  'character varying': 'varchar',
  'double precision': 'float8',
};

function diagramType(type: string): string {
  const base = type.replace(/\(.*\)/, '');
  return (SHORT_TYPES[base] ?? base).replace(/ /g, '_');
}

/** One schema's `erDiagram`, its tables in the snapshot's (alphabetical) order. */
export function renderSchema(tables: Map<string, Table>, schema: string): string {
  const own = [...tables.values()].filter((table) => table.schema === schema);
  const lines = ['```mermaid', 'erDiagram'];
  for (const table of own) {
    lines.push(`  ${table.name} {`);
    const foreign = new Set(table.foreignKeys.flatMap((key) => key.columns));
    const unique = new Set(table.unique.filter((columns) => columns.length === 1).map(([column]) => column));
    for (const column of table.columns) {
      const keys = [
        table.primaryKey.includes(column.name) ? 'PK' : undefined,
        foreign.has(column.name) ? 'FK' : undefined,
        unique.has(column.name) ? 'UK' : undefined,
      ].filter((key) => key !== undefined);
      const note = column.nullable ? ' "null"' : '';
      lines.push(`    ${diagramType(column.type)} ${column.name}${keys.length > 0 ? ` ${keys.join(', ')}` : ''}${note}`);
    }
    lines.push('  }');
  }
  for (const table of own) {
    for (const key of table.foreignKeys) {
      const optional = key.columns.some((name) => table.columns.find((column) => column.name === name)?.nullable);
      lines.push(`  ${key.table} ${optional ? '|o' : '||'}--o{ ${table.name} : "${key.columns.join(', ')}"`);
    }
  }
  lines.push('```');
  return lines.join('\n');
}

/** The schemas the page draws, in the order it presents them. */
export const DIAGRAM_SCHEMAS = ['registry', 'prompt', 'runner', 'workflow', 'gateway', 'bus', 'llmops_meta'] as const;

/**
 * The page with every marked block rewritten from the snapshot. A schema without its markers, or markers
 * naming a schema the snapshot lacks, is an error that says what to add or remove.
 */
export function renderDataModel(page: string, snapshot: string): string {
  const tables = parseSnapshot(snapshot);
  const schemas = new Set([...tables.values()].map((table) => table.schema));
  const problems: string[] = [];
  for (const schema of schemas) {
    if (!(DIAGRAM_SCHEMAS as readonly string[]).includes(schema))
      problems.push(`schema ${schema} is new: add it to DIAGRAM_SCHEMAS in infra/data-model.ts`);
  }
  for (const schema of DIAGRAM_SCHEMAS) {
    if (!page.includes(`<!-- data-model:begin ${schema} -->`))
      problems.push(`docs/data-model.md has no block for schema ${schema}: add the two markers of its diagram`);
  }
  const rewritten = page.replace(
    /<!-- data-model:begin (\w+) -->\n[\s\S]*?<!-- data-model:end \1 -->/g,
    (_block, schema: string) => {
      if (!schemas.has(schema)) problems.push(`docs/data-model.md draws schema ${schema}, which sql/ no longer has`);
      // Blank lines around the diagram, as Prettier writes a fenced block.
      return `<!-- data-model:begin ${schema} -->\n\n${renderSchema(tables, schema)}\n\n<!-- data-model:end ${schema} -->`;
    },
  );
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return rewritten;
}

const PAGE = new URL('../docs/data-model.md', import.meta.url);
const SNAPSHOT = new URL('../sql/schema-snapshot.txt', import.meta.url);

/** Rewrites docs/data-model.md's diagrams from the committed snapshot; true when the page changed. */
export function writeDataModel(): boolean {
  const page = readFileSync(PAGE, 'utf8');
  const rewritten = renderDataModel(page, readFileSync(SNAPSHOT, 'utf8'));
  if (rewritten === page) return false;
  writeFileSync(PAGE, rewritten);
  return true;
}

// `npm run docs:data-model`: the same without a database, from the committed snapshot.
if (import.meta.main) {
  process.stdout.write(writeDataModel() ? `wrote ${fileURLToPath(PAGE)}\n` : 'docs/data-model.md is current\n');
}
