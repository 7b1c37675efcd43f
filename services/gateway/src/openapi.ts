import type { ServiceApp } from '@llmops/kit/http/app';

export const OPENAPI_PATH = '/api/v1/openapi.json';
export const DOCS_PATH = '/api/v1/docs';

/** The only routes anyone may call without signing in (issue 6). */
const OPEN_PATHS = new Set(['/healthz', '/readyz', OPENAPI_PATH, DOCS_PATH, '/api/v1/setup', '/api/v1/login', '/api/v1/logout']);

export function isOpenPath(path: string): boolean {
  return OPEN_PATHS.has(path) || path.startsWith(`${DOCS_PATH}/`);
}

/** The document's fixed part; the paths come from the routes mounted on the gateway (ADR 0005). */
export const DOCUMENT_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'LLM Ops API',
    version: '1.0.0',
    description:
      'The public API of LLM Ops: providers and models, prompts, tasks and the editorial workflow. ' +
      'Errors are RFC 9457 problem+json; lists take `limit` and `cursor`; JSON is snake_case.',
  },
  servers: [{ url: '/', description: 'This gateway' }],
  tags: [
    { name: 'Operations', description: 'Health, readiness, this reference, and the bus’s dead letters.' },
    { name: 'Accounts', description: 'First-run setup, signing in and out, the session, accounts (admins).' },
    { name: 'Tokens', description: 'API tokens for programs: `Authorization: Bearer <token>`.' },
    { name: 'Audit', description: 'Who changed what, when (admins).' },
    { name: 'Events', description: 'Live events over server-sent events, resumable.' },
  ],
  // Every route needs a session or a token unless it says otherwise (`security: []`).
  security: [{ session: [] }, { bearer: [] }] as Record<string, string[]>[],
};

/**
 * The JSON Schema `pattern` of a contract regex. zod-to-openapi writes `/^a$/u` as `^a$/u` (it strips
 * the slashes, not the flags), a pattern that matches nothing. A regex source never has an unescaped
 * `/`, so a trailing `/flags` is that: `u` is what JSON Schema patterns assume anyway and is dropped;
 * any other flag changes what matches and cannot be written in a pattern, so it is refused.
 */
export function patternOf(rendered: string): string {
  const flags = /(?<=(?:^|[^\\])(?:\\\\)*)\/([dgimsuvy]+)$/.exec(rendered);
  if (!flags) return rendered;
  if (flags[1] !== 'u' && flags[1] !== 'v') {
    throw new Error(
      `the contract regex ${rendered} has flags (${flags[1]}) a JSON Schema pattern cannot carry; write it without`,
    );
  }
  return rendered.slice(0, flags.index);
}

/** Rewrites every `pattern` of the document in place (see `patternOf`). */
function fixPatterns(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(fixPatterns);
  if (typeof node !== 'object' || node === null) return;
  const object = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(object)) {
    if (key === 'pattern' && typeof value === 'string') object.pattern = patternOf(value);
    else fixPatterns(value);
  }
}

/** The OpenAPI 3.1 document of everything the gateway serves. */
export function publicDocument(app: ServiceApp): ReturnType<ServiceApp['getOpenAPI31Document']> {
  const document = app.getOpenAPI31Document(DOCUMENT_INFO);
  fixPatterns(document);
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (!isOpenPath(path)) continue;
    for (const operation of Object.values(item as Record<string, { security?: unknown[] }>)) {
      if (typeof operation === 'object' && operation !== null && 'responses' in operation) operation.security = [];
    }
  }
  return document;
}
