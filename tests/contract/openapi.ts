/**
 * The contract check (issue 6): every response a test receives through the gateway is checked against
 * the published OpenAPI document — the status must be documented for the operation, the content type
 * too, and the body must validate against the documented schema — so the document cannot drift from
 * what the services answer. Use `contractFetch(gatewayUrl)` in place of `fetch` in any test:
 *
 *   const api = await contractFetch(gateway.url);
 *   const response = await api('/api/v1/session', { headers: { authorization: `Bearer ${token}` } });
 *
 * A response that breaks the contract throws a ContractViolation naming the operation and what differs.
 * `api.checked` counts the responses checked, per operation, so a suite can show it covered them.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components?: Record<string, unknown>;
}

interface OperationObject {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

interface CompiledOperation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Literal segments: templates with more of them win when two match (`/a/b` over `/a/{id}`). */
  literals: number;
  responses: Map<string, Map<string, ValidateFunction | undefined>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json$/;

function pointer(...parts: string[]): string {
  return parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
}

/** A checker built from one document: `check` a response of `method path`. */
export class ContractChecker {
  readonly document: OpenApiDocument;
  readonly #operations: CompiledOperation[] = [];
  readonly checked = new Map<string, number>();

  constructor(document: OpenApiDocument) {
    if (!document.openapi?.startsWith('3.1')) throw new Error(`expected an OpenAPI 3.1 document, got ${document.openapi}`);
    this.document = document;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
    (addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
    ajv.addSchema(document as object, 'openapi');
    for (const [template, item] of Object.entries(document.paths)) {
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`);
      const literals = template.split('/').filter((segment) => segment && !segment.startsWith('{')).length;
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const responses = new Map<string, Map<string, ValidateFunction | undefined>>();
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          const types = new Map<string, ValidateFunction | undefined>();
          for (const [type, media] of Object.entries(response.content ?? {})) {
            const ref = `openapi#/${pointer('paths', template, method, 'responses', status, 'content', type, 'schema')}`;
            // Bodies are checked where they are JSON; an image or an event stream only by its content type.
            types.set(type, media.schema === undefined || !JSON_TYPE.test(type) ? undefined : ajv.compile({ $ref: ref }));
          }
          responses.set(status, types);
        }
        this.#operations.push({ method: method.toUpperCase(), template, pattern, literals, responses });
      }
    }
    this.#operations.sort((a, b) => b.literals - a.literals);
  }

  /** The documented operation for a request, or undefined. */
  operation(method: string, path: string): CompiledOperation | undefined {
    return this.#operations.find((op) => op.method === method.toUpperCase() && op.pattern.test(path));
  }

  /**
   * Checks one response (its body is read from a clone). Throws ContractViolation when the operation,
   * status, content type or body is not as documented.
   */
  async check(method: string, url: string, response: Response): Promise<void> {
    const path = new URL(url, 'http://x').pathname;
    const operation = this.operation(method, path);
    const where = `${method.toUpperCase()} ${path} → ${response.status}`;
    if (!operation) {
      if (response.status === 404 || response.status === 401) return; // unknown routes: 401 without credentials, else 404
      throw new ContractViolation(`${where}: no such operation in the OpenAPI document`);
    }
    const key = `${operation.method} ${operation.template}`;
    this.checked.set(key, (this.checked.get(key) ?? 0) + 1);
    const documented =
      operation.responses.get(String(response.status)) ??
      operation.responses.get(`${String(response.status)[0]}XX`) ??
      operation.responses.get('default');
    if (!documented) {
      throw new ContractViolation(
        `${where}: status ${response.status} is not documented for ${key} (documented: ${[...operation.responses.keys()].join(', ')})`,
      );
    }
    if (documented.size === 0 || method.toUpperCase() === 'HEAD') return;
    const actual = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    // The most specific documented media type that covers the answer's: `image/png` falls under `image/*`.
    const type = [actual, `${actual.split('/')[0]}/*`, '*/*'].find((range) => documented.has(range)) ?? actual;
    if (!documented.has(type)) {
      throw new ContractViolation(
        `${where}: content type ${JSON.stringify(actual)} is not documented (documented: ${[...documented.keys()].join(', ')})`,
      );
    }
    const validate = documented.get(type);
    if (!validate) return;
    const text = await response.clone().text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ContractViolation(`${where}: the body is not JSON: ${text.slice(0, 200)}`);
    }
    if (!validate(body)) {
      const problems = (validate.errors ?? [])
        .map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''}`)
        .join('; ');
      throw new ContractViolation(`${where}: the body does not match the documented schema: ${problems}\n${text.slice(0, 500)}`);
    }
  }
}

export type ContractFetch = ((path: string, init?: RequestInit) => Promise<Response>) & { checker: ContractChecker };

/** Reads the gateway's published document once and returns a fetch that checks every response against it. */
export async function contractFetch(baseUrl: string): Promise<ContractFetch> {
  const response = await fetch(`${baseUrl}/api/v1/openapi.json`);
  if (!response.ok) throw new Error(`could not read the OpenAPI document: ${response.status} ${await response.text()}`);
  const checker = new ContractChecker((await response.json()) as OpenApiDocument);
  const api = (async (path: string, init: RequestInit = {}) => {
    const answer = await fetch(`${baseUrl}${path}`, init);
    await checker.check(init.method ?? 'GET', path, answer);
    return answer;
  }) as ContractFetch;
  api.checker = checker;
  return api;
}
