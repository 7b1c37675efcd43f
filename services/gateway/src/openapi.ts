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

/** The OpenAPI 3.1 document of everything the gateway serves. */
export function publicDocument(app: ServiceApp): ReturnType<ServiceApp['getOpenAPI31Document']> {
  const document = app.getOpenAPI31Document(DOCUMENT_INFO);
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (!isOpenPath(path)) continue;
    for (const operation of Object.values(item as Record<string, { security?: unknown[] }>)) {
      if (typeof operation === 'object' && operation !== null && 'responses' in operation) operation.security = [];
    }
  }
  return document;
}
