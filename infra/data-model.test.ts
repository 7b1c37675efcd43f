import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSnapshot, renderDataModel, renderSchema } from './data-model.ts';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('docs/data-model.md', () => {
  it('draws every table, column and foreign key of sql/schema-snapshot.txt (run `npm run docs:data-model` to redraw)', () => {
    const page = read('../docs/data-model.md');
    expect(renderDataModel(page, read('../sql/schema-snapshot.txt'))).toBe(page);
  });
});

const SNAPSHOT = `-- tables
shop.items  table
shop.items_id_seq  sequence
shop.orders  table
other.things  table

-- columns
shop.items.001 id  bigint not null default nextval('shop.items_id_seq'::regclass)
shop.items.002 order_id  uuid
shop.items.003 added_at  timestamp with time zone not null default now()
shop.items.004 price  numeric(14,6) not null
shop.orders.001 id  uuid not null
shop.orders.002 code  text not null
shop.orders.003 search  tsvector generated always as (to_tsvector('simple'::regconfig, code)) stored
other.things.001 id  integer not null

-- constraints
shop.items  items_order_id_fkey  FOREIGN KEY (order_id) REFERENCES shop.orders(id) ON DELETE CASCADE
shop.items  items_pkey  PRIMARY KEY (id)
shop.orders  orders_code_key  UNIQUE (code)
shop.orders  orders_pkey  PRIMARY KEY (id)
shop.orders  orders_code_check  CHECK ((code <> ''::text))

-- indexes
shop.items  items_pkey  CREATE UNIQUE INDEX items_pkey ON shop.items USING btree (id)
`;

describe('the diagrams', () => {
  it('read tables, columns with their types and nullability, keys and foreign keys from the snapshot', () => {
    const tables = parseSnapshot(SNAPSHOT);
    expect([...tables.keys()]).toEqual(['shop.items', 'shop.orders', 'other.things']);
    expect(tables.get('shop.items')).toEqual({
      schema: 'shop',
      name: 'items',
      columns: [
        { name: 'id', type: 'bigint', nullable: false },
        { name: 'order_id', type: 'uuid', nullable: true },
        { name: 'added_at', type: 'timestamp with time zone', nullable: false },
        { name: 'price', type: 'numeric(14,6)', nullable: false },
      ],
      primaryKey: ['id'],
      unique: [],
      foreignKeys: [{ columns: ['order_id'], table: 'orders', references: ['id'] }],
    });
    expect(tables.get('shop.orders')?.columns[2]).toEqual({ name: 'search', type: 'tsvector', nullable: true });
  });

  it('draw a schema as mermaid, with types mermaid can read and an optional foreign key as zero-or-one', () => {
    expect(renderSchema(parseSnapshot(SNAPSHOT), 'shop')).toBe(
      [
        '```mermaid',
        'erDiagram',
        '  items {',
        '    bigint id PK',
        '    uuid order_id FK "null"',
        '    timestamptz added_at',
        '    numeric price',
        '  }',
        '  orders {',
        '    uuid id PK',
        '    text code UK',
        '    tsvector search "null"',
        '  }',
        '  orders |o--o{ items : "order_id"',
        '```',
      ].join('\n'),
    );
  });

  it('say what to add when a schema has no block, and what to remove when sql/ lost one', () => {
    expect(() => renderDataModel('<!-- data-model:begin gone -->\n<!-- data-model:end gone -->', SNAPSHOT)).toThrow(
      /schema shop is new: add it to DIAGRAM_SCHEMAS[\s\S]*has no block for schema registry[\s\S]*draws schema gone, which sql\/ no longer has/,
    );
  });
});
