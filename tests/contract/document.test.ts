/**
 * The public OpenAPI document as a client generator or validator reads it: every `pattern` is an
 * ECMAScript regex under the `u` flag (JSON Schema's dialect) that accepts the examples the document
 * gives for it, and every operation has a unique, readable `operationId`. Built from the contracts alone,
 * as the dashboard's code generator builds it; the gateway serves this same document and answers
 * exactly the routes it lists. In memory: no server.
 */
import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createApp, type GatewayRuntime } from '@llmops/gateway/app';
import { DOCS_PATH } from '@llmops/gateway/openapi';
import { publicDocument } from '@llmops/kit/contracts/document';
import { createLogger } from '@llmops/kit/logger';
import { createMetrics } from '@llmops/kit/metrics';

type Json = Record<string, unknown>;

const document = publicDocument() as unknown as {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> };
};

/** The gateway with stand-ins for its database and bus: reading its document and its routes uses neither. */
function gateway() {
  const unused = new Proxy(
    {},
    {
      get(_target, name) {
        throw new Error(`the gateway used its runtime (${String(name)}) to serve its document`);
      },
    },
  ) as never;
  const runtime: GatewayRuntime = {
    pool: unused,
    auth: unused,
    limiter: unused,
    hub: unused,
    config: unused,
    proxy: { secret: 's'.repeat(40), urls: { registry: '', prompt: '', runner: '', workflow: '' }, timeoutMs: 1_000 },
    allowedOrigins: [],
    forwarding: { webSecret: undefined, trustedProxies: new BlockList() },
  };
  const log = createLogger({ service: 'document-test', level: 'silent' });
  // With its metrics, as it runs: /metrics is one of the routes it answers.
  return createApp({ log, readiness: {}, runtime, metrics: createMetrics({ service: 'gateway' }) });
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The examples a schema (or the parameter around it) gives. */
function examplesOf(...holders: (Json | undefined)[]): unknown[] {
  return holders.flatMap((holder) => [
    ...(holder && 'example' in holder ? [holder.example] : []),
    ...(holder && Array.isArray(holder.examples) ? holder.examples : []),
    ...(holder && isObject(holder.examples) ? Object.values(holder.examples).map((e) => (e as Json).value) : []),
  ]);
}

interface Pattern {
  where: string;
  pattern: string;
  examples: unknown[];
}

/** Every `pattern` in the document, with the examples of its schema, its parameter, and of the objects that hold it. */
function patterns(): Pattern[] {
  const found: Pattern[] = [];
  const walk = (node: unknown, where: string, inherited: unknown[], parameter?: Json): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${where}/${i}`, [], undefined));
    if (!isObject(node)) return;
    const own = [...inherited, ...examplesOf(node, parameter)];
    if (typeof node.pattern === 'string') found.push({ where, pattern: node.pattern, examples: own });
    for (const [key, value] of Object.entries(node)) {
      if (key === 'example' || key === 'examples') continue;
      if (key === 'properties' && isObject(value)) {
        for (const [name, property] of Object.entries(value)) {
          // An object's example gives its properties' examples too.
          const fromParent = own.filter(isObject).flatMap((example) => (name in example ? [example[name]] : []));
          walk(property, `${where}/properties/${name}`, fromParent);
        }
      } else if (key === 'items') {
        walk(value, `${where}/items`, own.filter(Array.isArray).flat());
      } else if (key === 'schema' && 'in' in node) {
        walk(value, `${where}/schema`, [], node);
      } else {
        walk(value, `${where}/${key}`, []);
      }
    }
  };
  walk(document, '#', []);
  return found;
}

describe('the public OpenAPI document', () => {
  it('has patterns that compile as ECMAScript `u` regexes and accept their own examples', () => {
    const all = patterns();
    expect(all.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const { where, pattern, examples } of all) {
      let regex: RegExp;
      try {
        regex = new RegExp(pattern, 'u');
      } catch (error) {
        problems.push(`${where}: ${pattern} does not compile: ${(error as Error).message}`);
        continue;
      }
      // A pattern without an example cannot be checked here: give its schema one (`.openapi({ example })`).
      if (examples.length === 0) problems.push(`${where}: ${pattern} has no example`);
      for (const example of examples) {
        if (typeof example !== 'string' || !regex.test(example))
          problems.push(`${where}: ${pattern} rejects its example ${JSON.stringify(example)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('names every operation with a unique, readable operationId', () => {
    const problems: string[] = [];
    const seen = new Map<unknown, string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!isObject(operation) || !('responses' in operation)) continue;
        const where = `${method.toUpperCase()} ${path}`;
        const id = operation.operationId;
        if (typeof id !== 'string' || !/^[a-z][A-Za-z]*$/.test(id))
          problems.push(`${where}: operationId ${String(id)} is not a lowerCamelCase name`);
        else if (seen.has(id)) problems.push(`${where}: operationId ${id} is already ${seen.get(id)}'s`);
        seen.set(id, where);
      }
    }
    expect(problems).toEqual([]);
    expect(seen.size).toBeGreaterThan(70);
  });

  it('is the document the gateway serves, and lists exactly the routes the gateway answers', async () => {
    const app = gateway();
    const served = await app.request('/api/v1/openapi.json');
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(JSON.parse(JSON.stringify(document)));

    const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
    const answered = app.routes
      .filter((route) => METHODS.has(route.method) && !route.path.startsWith(DOCS_PATH))
      .map((route) => `${route.method} ${route.path}`);
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    expect([...new Set(answered)].sort()).toEqual(documented.sort());
  });
});
