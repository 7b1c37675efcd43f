/**
 * The public OpenAPI document as a client generator or validator reads it: every `pattern` is an
 * ECMAScript regex under the `u` flag (JSON Schema's dialect) that accepts the examples the document
 * gives for it, and every operation has a unique, readable `operationId`. Built in memory: no server.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '@llmops/gateway/app';
import { publicDocument } from '@llmops/gateway/openapi';
import { createLogger } from '@llmops/kit/logger';

type Json = Record<string, unknown>;

const document = publicDocument(
  createApp({ log: createLogger({ service: 'document-test', level: 'silent' }), readiness: {} }),
) as unknown as {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> };
};

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
});
