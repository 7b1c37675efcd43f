/**
 * Hostile input on every route of the public document that takes a body, an id or a query: malformed
 * JSON, wrong content types, bodies over 1 MiB, deeply nested JSON, invalid UTF-8, NUL characters, empty
 * bodies, path traversal in ids, NUL, lone surrogates and broken escapes in query parameters — always a
 * 4xx problem+json, never a 5xx, and nothing in the database changes (one snapshot per operation, so a
 * change names the operation that made it). Writes without credentials are 401 whatever their body.
 * SQL and template injection strings in every text field are taken literally or refused, never executed.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@llmops/kit/db';
import type { Problem } from '@llmops/kit/problem';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway, type Caller, type GatewayHarness } from './gateway-support.ts';

// A test that goes over every route of the public document grows with it (the workflow added dozens);
// a loaded 2-core machine needs more than the default 30 s for the longest of them.
const EVERY_ROUTE_MS = 120_000;

const db = await useTestDatabase();

interface Operation {
  method: string;
  template: string;
  hasBody: boolean;
  /** The document marks the body `required`: sending none is a 4xx naming `body`. */
  bodyRequired: boolean;
  bodySchema: unknown;
  /** Callable without credentials (`security: []`). */
  open: boolean;
  query: string[];
}

interface DocumentOperation {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  security?: unknown[];
  parameters?: { name: string; in: string }[];
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

/** The tables whose row counts are the database's state (the bus's own bookkeeping moves on its own). */
const STATE_TABLES = `
  SELECT table_schema, table_name FROM information_schema.tables
  WHERE table_schema IN ('gateway', 'registry', 'prompt', 'runner', 'workflow', 'bus') AND table_type = 'BASE TABLE'
    AND (table_schema <> 'bus' OR table_name = 'outbox') AND table_name <> 'login_failures'`;

/** Row counts of every table of the services' schemas and of the outbox, in one query: the database's state, cheaply. */
async function snapshot(admin: Pool): Promise<Record<string, number>> {
  // The audit log is fed asynchronously: let it catch up with the audit events already committed.
  await expect
    .poll(
      async () =>
        Number(
          (
            await admin.query<{ behind: string }>(
              `SELECT (SELECT count(*) FROM bus.outbox WHERE topic = 'audit.change.recorded') - (SELECT count(*) FROM gateway.audit_log) AS behind`,
            )
          ).rows[0]?.behind,
        ),
      { timeout: 10_000 },
    )
    .toBe(0);
  const { rows } = await admin.query<{ name: string; n: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name,
            (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text AS n
     FROM (${STATE_TABLES}) AS t`,
  );
  return Object.fromEntries(rows.map(({ name, n }) => [name, Number(n)]));
}

/**
 * Sends a request on a connection of its own (node:http, no keep-alive). For bodies over the limit: the
 * server answers 413 before reading them and may then close the connection, which a reused keep-alive
 * socket would see as "other side closed" on the next request. Without a body the request carries no
 * Content-Length and no Transfer-Encoding at all, as `curl -X POST` sends it.
 */
function onOwnConnection(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: BodyInit | undefined,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve(
          new Response(NULL_BODY.has(res.statusCode ?? 0) ? null : Buffer.concat(chunks), {
            status: res.statusCode ?? 0,
            headers: Object.entries(res.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as [string, string]] : [])),
          }),
        ),
      );
    });
    req.on('error', reject);
    if (body === undefined) {
      req.removeHeader('content-length');
      req.removeHeader('transfer-encoding');
      req.end();
    } else {
      // Framed explicitly: node sends a DELETE's body with neither Content-Length nor chunked encoding.
      const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body as Uint8Array);
      req.setHeader('content-length', bytes.byteLength);
      req.end(bytes);
    }
  });
}

/** Writes raw bytes on a connection of its own and reads the answer until the server closes it. */
function rawExchange(url: string, bytes: string): Promise<{ status: number; type: string | undefined; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const type = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim();
      resolve({ status: Number(head.split(' ')[1]), type, body });
    });
    socket.on('error', reject);
    socket.end(bytes);
  });
}

const NULL_BODY = new Set([101, 204, 205, 304]);

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
  let adminDb: Pool;

  beforeAll(async () => {
    gw = await startGateway(db, {
      env: { GATEWAY_RATE_LIMIT_TOKEN: '0', GATEWAY_RATE_LIMIT_ACCOUNT: '0', GATEWAY_LOGIN_MAX_FAILURES: '1000' },
    });
    adminDb = createPool({ connectionString: db.adminUrl, applicationName: 'hostile-test', max: 1 });
    admin = await gw.caller('admin');
    const document = gw.api.checker.document as unknown as {
      paths: Record<string, Record<string, DocumentOperation>>;
      components: { schemas: Record<string, unknown> };
    };
    components = document.components.schemas;
    ops = [];
    for (const [template, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (typeof operation !== 'object' || !('responses' in operation)) continue;
        const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
        ops.push({
          method: method.toUpperCase(),
          template,
          hasBody: bodySchema !== undefined,
          bodyRequired: operation.requestBody?.required === true,
          bodySchema,
          open: Array.isArray(operation.security) && operation.security.length === 0,
          query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        });
      }
    }
  });
  afterAll(async () => {
    await adminDb?.end();
    await gw?.stop();
  });

  /**
   * Runs `probe` on each operation and takes one snapshot of the database after each, so a change is
   * caught and named by the operation that made it (one snapshot per operation, not per request).
   */
  async function changingNothing(operations: Operation[], probe: (op: Operation) => Promise<void>): Promise<void> {
    let before = await snapshot(adminDb);
    for (const op of operations) {
      await probe(op);
      const after = await snapshot(adminDb);
      expect(after, `${op.method} ${op.template} changed the database`).toEqual(before);
      before = after;
    }
  }

  const writes = () => ops.filter((o) => o.method !== 'GET' && o.method !== 'HEAD');

  const auth = () => ({ authorization: `Bearer ${admin.token}` });

  async function expectRefused(response: Response, what: string): Promise<Problem> {
    expect(response.status, what).toBeGreaterThanOrEqual(400);
    expect(response.status, what).toBeLessThan(500);
    expect(response.headers.get('content-type'), what).toBe('application/problem+json');
    const problem = (await response.json()) as Problem;
    expect(problem.status, what).toBe(response.status);
    return problem;
  }

  it(
    'refuses malformed bodies of every kind with a 4xx problem, and changes nothing',
    async () => {
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
      const nested = JSON.stringify(JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`));
      const bodies: { what: string; body: BodyInit | undefined; type?: string }[] = [
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
        { what: 'an empty JSON body (Content-Length: 0)', body: '' },
        { what: 'no body and no Content-Type', body: undefined, type: '' },
      ];
      await changingNothing(
        writes().filter((o) => o.hasBody || o.method === 'POST'),
        async (op) => {
          for (const { what, body, type } of bodies) {
            const headers: Record<string, string> = { ...auth() };
            if (type !== '') headers['content-type'] = type ?? 'application/json';
            const path = concrete(op.template);
            let response: Response;
            if (what === 'over 1 MiB' || body === undefined) {
              response = await onOwnConnection(`${gw.url}${path}`, op.method, headers, body);
              await gw.api.checker.check(op.method, path, response);
            } else {
              response = await gw.api(path, { method: op.method, headers, body });
            }
            const where = `${op.method} ${op.template}: ${what}`;
            const empty = body === '' || body === undefined;
            if (empty && op.bodyRequired) {
              // A body the route needs and did not get is named, whatever headers came with the nothing.
              expect(await expectRefused(response, where), where).toMatchObject({ status: 400, errors: [{ field: 'body' }] });
            } else if (empty) {
              // No body where none (or an optional one) is taken: the request is served (here: 404 for the made-up id).
              expect(response.status, where).toBeLessThan(500);
              expect(response.status, where).not.toBe(415);
              if (response.status >= 400) await expectRefused(response, where);
              else await response.arrayBuffer();
            } else if (!op.hasBody && response.status < 400) {
              await response.arrayBuffer(); // a route without a body may ignore one it does not read
            } else {
              await expectRefused(response, where);
            }
          }
        },
      );
    },
    EVERY_ROUTE_MS,
  );

  it(
    'answers writes without credentials 401 before it reads their body (the body limit still guards open routes)',
    async () => {
      const large = JSON.stringify({ email: 'x'.repeat(1024 * 1024 + 10) });
      const bodies: { what: string; body: BodyInit | undefined; type?: string }[] = [
        { what: 'malformed JSON', body: '{"name": "x",' },
        { what: 'text content type', body: '{}', type: 'text/plain' },
        { what: 'invalid UTF-8', body: new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
        { what: 'an empty JSON body', body: '' },
        { what: 'no body and no Content-Type', body: undefined, type: '' },
        { what: 'over 1 MiB', body: large },
      ];
      await changingNothing(
        writes().filter((o) => !o.open),
        async (op) => {
          for (const { what, body, type } of bodies) {
            const headers: Record<string, string> = type === '' ? {} : { 'content-type': type ?? 'application/json' };
            const path = concrete(op.template);
            const response = await onOwnConnection(`${gw.url}${path}`, op.method, headers, body);
            await gw.api.checker.check(op.method, path, response);
            const where = `${op.method} ${op.template} without credentials: ${what}`;
            expect(await expectRefused(response, where), where).toMatchObject({ status: 401 });
          }
        },
      );
      const login = await onOwnConnection(`${gw.url}/api/v1/login`, 'POST', { 'content-type': 'application/json' }, large);
      await gw.api.checker.check('POST', '/api/v1/login', login);
      expect(await expectRefused(login, 'POST /api/v1/login over 1 MiB')).toMatchObject({ status: 413 });
    },
    EVERY_ROUTE_MS,
  );

  it(
    'refuses NUL, lone surrogates and broken escapes in every query parameter with a 400 naming it',
    async () => {
      const values = [
        { what: 'a NUL character', raw: 'a%00b' },
        { what: 'a lone surrogate', raw: '%ED%A0%80' },
        { what: 'invalid UTF-8', raw: '%C3%28' },
        { what: 'a byte that is never UTF-8', raw: '%FF' },
        { what: 'a broken escape', raw: '%E2%82' },
      ];
      await changingNothing(
        ops.filter((o) => o.query.length > 0),
        async (op) => {
          for (const name of op.query) {
            for (const { what, raw } of values) {
              const path = `${concrete(op.template)}?${name}=${raw}`;
              // A stream (GET /events) would answer a query it accepted forever: bound the wait, so a regression fails here.
              const response = await gw.api(path, { method: op.method, headers: auth(), signal: AbortSignal.timeout(10_000) });
              const where = `${op.method} ${op.template}?${name}= ${what}`;
              expect(await expectRefused(response, where), where).toMatchObject({
                status: 400,
                errors: [{ field: `query.${name}` }],
              });
            }
          }
        },
      );
    },
    EVERY_ROUTE_MS,
  );

  it("answers requests node's HTTP parser refuses (headers too large, not HTTP) with problems too", async () => {
    const cases = [
      {
        what: 'headers over the limit',
        status: 431,
        bytes: `GET /api/v1/session HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(20_000)}\r\n\r\n`,
      },
      { what: 'a malformed header', status: 400, bytes: 'GET /api/v1/session HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n' },
    ];
    for (const { what, status, bytes } of cases) {
      const answer = await rawExchange(gw.url, bytes);
      expect(answer.status, what).toBe(status);
      expect(answer.type, what).toBe('application/problem+json');
      expect(JSON.parse(answer.body), what).toMatchObject({ status, detail: expect.any(String) });
    }
  });

  it(
    'refuses path traversal and other junk in ids with a 4xx problem',
    async () => {
      const ids = ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'not-a-uuid', "1'%20OR%20'1'='1", '%00', '%ED%A0%80', 'x'.repeat(300)];
      await changingNothing(
        ops.filter((o) => o.template.includes('{')),
        async (op) => {
          for (const id of ids) {
            const init: RequestInit = { method: op.method, headers: { ...auth(), 'content-type': 'application/json' } };
            if (op.hasBody) init.body = '{}';
            const response = await gw.api(concrete(op.template, id), init);
            await expectRefused(response, `${op.method} ${op.template} with id ${id}`);
          }
        },
      );
    },
    EVERY_ROUTE_MS,
  );

  it(
    'takes SQL and template injection strings in every text field literally or refuses them, never a 5xx',
    async () => {
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
      const tables = await adminDb.query(`SELECT to_regclass('gateway.accounts') AS t`);
      expect(tables.rows).toEqual([{ t: 'gateway.accounts' }]);
      const login = await gw.api('/api/v1/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: "' OR '1'='1", password: "' OR '1'='1" }),
      });
      expect(login.status).toBe(401);
    },
    EVERY_ROUTE_MS,
  );

  it(
    'refuses injection in query parameters of lists as a 4xx or answers them literally',
    async () => {
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
    },
    EVERY_ROUTE_MS,
  );
});
