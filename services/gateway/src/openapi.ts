import type { ServiceApp } from '@llmops/kit/http/app';

export const OPENAPI_PATH = '/api/v1/openapi.json';
export const DOCS_PATH = '/api/v1/docs';

/** The document's fixed part; the paths come from the routes mounted on the gateway (DESIGN D1). */
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
  tags: [{ name: 'Operations', description: 'Health, readiness and this reference.' }],
};

/** The OpenAPI 3.1 document of everything the gateway serves. */
export function publicDocument(app: ServiceApp): ReturnType<ServiceApp['getOpenAPI31Document']> {
  return app.getOpenAPI31Document(DOCUMENT_INFO);
}
