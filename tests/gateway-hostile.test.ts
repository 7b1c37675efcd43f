/**
 * Hostile input on every route of the public document that takes a body or an id: malformed JSON, wrong
 * content types, bodies over 1 MiB, deeply nested JSON, invalid UTF-8, NUL characters, path traversal
 * in ids — always a 4xx problem+json, never a 5xx, and nothing in the database changes. SQL and template
 * injection strings in every text field are taken literally or refused, never executed, never a 5xx.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '@llmops/kit/db';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway, type Caller, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

interface Operation {
  method: string;
  template: string;
  hasBody: boolean;
  bodySchema: unknown;
}

const ID = '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d';
const INJECTIONS = [
  "'; DROP TABLE gateway.accounts; --",
  "' OR '1'='1",
  '{{ 7*7 }}',
  '{% raw %}{{ secret }}{% endraw %}',
  '${process.env.LLMOPS_INTERNAL_SECRET}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
];

/** Row counts of every table of the services' schemas and of the outbox: the database's state, cheaply (the bus's own bookkeeping moves on its own). */
async function snapshot(): Promise<Record<string, number>> {
  // The audit log is fed asynchronously: let it catch up with the audit events already committed.
  await expect
    .poll(
      () =>
        withClient(db.adminUrl, async (client) => {
          const { rows } = await client.query<{ behind: string }>(
            `SELECT (SELECT count(*) FROM bus.outbox WHERE topic = 'audit.change.recorded') - (SELECT count(*) FROM gateway.audit_log) AS behind`,
          );
          return Number(rows[0]?.behind);
        }),
      { timeout: 10_000 },
    )
    .toBe(0);
  return withClient(db.adminUrl, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
       WHERE table_schema IN ('gateway', 'registry', 'prompt', 'runner', 'workflow', 'bus') AND table_type = 'BASE TABLE'
         AND (table_schema <> 'bus' OR table_name = 'outbox') AND table_name <> 'login_failures'`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of rows)
      counts[name] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]?.n);
    return counts;
  });
}

/**
 * Sends a request on a connection of its own (node:http, no keep-alive). For bodies over the limit: the
 * server answers 413 before reading them and may then close the connection, which a reused keep-alive
 * socket would see as "other side closed" on the next request.
 */
function onOwnConnection(url: string, method: string, headers: Record<string, string>, body: BodyInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve(
          new Response(Buffer.concat(chunks), {
            status: res.statusCode ?? 0,
            headers: Object.entries(res.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as [string, string]] : [])),
          }),
        ),
      );
    });
    req.on('error', reject);
    req.end(typeof body === 'string' ? body : Buffer.from(body as Uint8Array));
  });
}

function concrete(template: string, id = ID): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'group' ? 'test.group' : id));
}

/** A body shaped like the documented schema, with `text` in every string field (best effort, one level of $ref). */
function shaped(schema: unknown, components: Record<string, unknown>, text: string, depth = 0): unknown {
  if (depth > 6 || typeof schema !== 'object' || schema === null) return text;
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === 'string') return shaped(components[s.$ref.split('/').pop() as string], components, text, depth + 1);
  if (s.type === 'object' || s.properties) {
    return Object.fromEntries(
      Object.entries((s.properties ?? {}) as Record<string, unknown>).map(([key, value]) => [
        key,
        shaped(value, components, text, depth + 1),
      ]),
    );
  }
  if (s.type === 'array') return [shaped(s.items, components, text, depth + 1)];
  if (Array.isArray(s.enum)) return s.enum[0];
  if (s.type === 'integer' || s.type === 'number') return 1;
  if (s.type === 'boolean') return false;
  return text;
}

describe('hostile input on every route', () => {
  let gw: GatewayHarness;
  let admin: Caller;
  let ops: Operation[];
  let components: Record<string, unknown>;

  beforeAll(async () => {
    gw = await startGateway(db, {
      env: { GATEWAY_RATE_LIMIT_TOKEN: '0', GATEWAY_RATE_LIMIT_ACCOUNT: '0', GATEWAY_LOGIN_MAX_FAILURES: '1000' },
    });
    admin = await gw.caller('admin');
    const document = gw.api.checker.document as unknown as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>>;
      components: { schemas: Record<string, unknown> };
    };
    components = document.components.schemas;
    ops = [];
    for (const [template, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (typeof operation !== 'object' || !('responses' in operation)) continue;
        const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
        ops.push({ method: method.toUpperCase(), template, hasBody: bodySchema !== undefined, bodySchema });
      }
    }
  });
  afterAll(() => gw?.stop());

  const auth = () => ({ authorization: `Bearer ${admin.token}` });

  async function expectRefused(response: Response, what: string): Promise<void> {
    expect(response.status, what).toBeGreaterThanOrEqual(400);
    expect(response.status, what).toBeLessThan(500);
    expect(response.headers.get('content-type'), what).toBe('application/problem+json');
    const problem = (await response.json()) as { status: number; title: string };
    expect(problem.status, what).toBe(response.status);
  }

  it('refuses malformed bodies of every kind with a 4xx problem, and changes nothing', async () => {
    const before = await snapshot();
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const nested = JSON.stringify(JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`));
    const bodies: { what: string; body: BodyInit; type?: string }[] = [
      { what: 'malformed JSON', body: '{"name": "x",' },
      { what: 'not JSON at all', body: 'name=x&role=admin' },
      { what: 'form content type', body: 'name=x', type: 'application/x-www-form-urlencoded' },
      { what: 'text content type', body: '{}', type: 'text/plain' },
      { what: 'no content type', body: '{}', type: '' },
      { what: 'latin-1 charset', body: '{}', type: 'application/json; charset=iso-8859-1' },
      { what: 'over 1 MiB', body: JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) }) },
      { what: 'deeply nested arrays', body: deep },
      { what: 'deeply nested objects', body: nested },
      { what: 'invalid UTF-8', body: new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
      { what: 'a NUL character', body: '{"name":"a\\u0000b"}' },
      { what: 'a lone surrogate', body: '{"name":"\\ud800"}' },
      { what: 'a JSON array instead of an object', body: '[1,2,3]' },
      { what: 'null', body: 'null' },
    ];
    for (const op of ops.filter((o) => o.hasBody || o.method === 'POST')) {
      for (const { what, body, type } of bodies) {
        const headers: Record<string, string> = { ...auth() };
        if (type !== '') headers['content-type'] = type ?? 'application/json';
        const path = concrete(op.template);
        let response: Response;
        if (what === 'over 1 MiB') {
          response = await onOwnConnection(`${gw.url}${path}`, op.method, headers, body);
          await gw.api.checker.check(op.method, path, response);
        } else {
          response = await gw.api(path, { method: op.method, headers, body });
        }
        if (!op.hasBody && response.status < 400) continue; // a route without a body may ignore one it does not read
        await expectRefused(response, `${op.method} ${op.template}: ${what}`);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses path traversal and other junk in ids with a 4xx problem', async () => {
    const before = await snapshot();
    const ids = ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'not-a-uuid', "1'%20OR%20'1'='1", '%00', 'x'.repeat(300)];
    for (const op of ops.filter((o) => o.template.includes('{'))) {
      for (const id of ids) {
        const init: RequestInit = { method: op.method, headers: { ...auth(), 'content-type': 'application/json' } };
        if (op.hasBody) init.body = '{}';
        const response = await gw.api(concrete(op.template, id), init);
        await expectRefused(response, `${op.method} ${op.template} with id ${id}`);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('takes SQL and template injection strings in every text field literally or refuses them, never a 5xx', async () => {
    for (const op of ops.filter((o) => o.hasBody && o.template !== '/api/v1/setup')) {
      for (const text of INJECTIONS) {
        const body = shaped(op.bodySchema, components, text);
        const response = await gw.api(concrete(op.template), {
          method: op.method,
          headers: { ...auth(), 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.status, `${op.method} ${op.template} with ${text}`).toBeLessThan(500);
        await response.arrayBuffer();
      }
    }
    // The injections were data: the tables are all still there, and the login with one as email failed as a login.
    const tables = await withClient(
      db.adminUrl,
      async (client) => (await client.query(`SELECT to_regclass('gateway.accounts') AS t`)).rows[0],
    );
    expect(tables).toEqual({ t: 'gateway.accounts' });
    const login = await gw.api('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: "' OR '1'='1", password: "' OR '1'='1" }),
    });
    expect(login.status).toBe(401);
  });

  it('refuses injection in query parameters of lists as a 4xx or answers them literally', async () => {
    for (const op of ops.filter(
      (o) =>
        o.method === 'GET' && !o.template.includes('{') && o.template.startsWith('/api/v1/') && o.template !== '/api/v1/events',
    )) {
      for (const text of INJECTIONS) {
        const q = encodeURIComponent(text);
        const response = await gw.api(`${op.template}?cursor=${q}&limit=${q}&action=${q}&resource_type=${q}`, {
          headers: auth(),
        });
        expect(response.status, `${op.template} with ${text}`).toBeLessThan(500);
        await response.arrayBuffer();
      }
    }
  });
});
