import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServiceApp } from '@llmops/kit/http/app';
import { OPENAPI_PATH } from '@llmops/kit/contracts/document';
import { DOCS_PATH } from '../openapi.ts';

const require = createRequire(import.meta.url);
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/** Files of the reference page, served from node_modules (never from a CDN). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

/** The dashboard's mark (web/static/favicon.svg), served here, so the page asks for no /favicon.ico that is not there. */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#4f46e5"/><path d="M9 11h14M9 16h10M9 21h6" stroke="#fff" stroke-width="3" stroke-linecap="round" fill="none"/></svg>`;

/**
 * The reference in the dashboard's dark theme (its colour tokens, web/src/lib/styles/tokens/color.css),
 * with a bar that leads back to the dashboard instead of Swagger UI's explore bar.
 */
const THEME = `
:root { color-scheme: dark; }
body { margin: 0; background: #181c2a; color: #e0e0e0; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
.back-bar { display: flex; align-items: center; gap: 1rem; padding: 0.5rem 1.5rem; background: #1d2131; border-bottom: 1px solid #31364a; }
.back-bar a { display: inline-flex; align-items: center; min-height: 44px; padding: 0 0.75rem; border: 1px solid #6b7394; border-radius: 0.5rem; color: #f3f4f8; text-decoration: none; }
.back-bar a:focus-visible, .swagger-ui :focus-visible { outline: 2px solid #818cf8; outline-offset: 2px; }
.back-bar span { color: #b4b9cc; }
.swagger-ui .topbar { display: none; }
.swagger-ui, .swagger-ui .info .title, .swagger-ui .info p, .swagger-ui .info li, .swagger-ui .opblock-tag,
.swagger-ui .opblock .opblock-summary-description, .swagger-ui .opblock .opblock-summary-path, .swagger-ui .opblock .opblock-section-header h4,
.swagger-ui .parameter__name, .swagger-ui .parameter__type, .swagger-ui table thead tr th, .swagger-ui table thead tr td,
.swagger-ui .response-col_status, .swagger-ui .response-col_links, .swagger-ui .tab li, .swagger-ui label, .swagger-ui .model-title,
.swagger-ui .model, .swagger-ui section.models h4, .swagger-ui .markdown p, .swagger-ui .renderedMarkdown p, .swagger-ui .scheme-container .schemes > label,
.swagger-ui .opblock-description-wrapper p, .swagger-ui .responses-inner h4, .swagger-ui .responses-inner h5, .swagger-ui .btn { color: #e0e0e0; }
.swagger-ui .scheme-container, .swagger-ui .opblock .opblock-section-header { background: #1d2131; box-shadow: none; }
.swagger-ui .opblock-tag { border-bottom-color: #31364a; }
.swagger-ui .opblock { background: #23273a; border-color: #31364a; }
.swagger-ui section.models, .swagger-ui section.models .model-container { background: #1d2131; border-color: #31364a; }
.swagger-ui input, .swagger-ui select, .swagger-ui textarea { background: #23273a; color: #f3f4f8; border-color: #6b7394; }
.swagger-ui .info a, .swagger-ui a.nostyle, .swagger-ui .info .link { color: #a5b4fc; }
.swagger-ui svg:not(:root) { fill: #e0e0e0; }
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>LLM Ops API reference</title>
  <link rel="icon" href="${DOCS_PATH}/icon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="${DOCS_PATH}/assets/swagger-ui.css">
  <style>${THEME}</style>
</head>
<body>
  <nav class="back-bar" aria-label="Dashboard"><a href="/llm">← Back to the dashboard</a><span>LLM Ops API reference</span></nav>
  <main id="reference"></main>
  <script src="${DOCS_PATH}/assets/swagger-ui-bundle.js"></script>
  <script src="${DOCS_PATH}/init.js"></script>
</body>
</html>`;

/**
 * The page's script: a file of its own rather than an inline script, so the page works under a strict CSP.
 *
 * Fast for a document of this size (about 80 operations, 190 schemas, 380 kB). Tags start closed, so the
 * first render is the list of tags rather than every operation and schema (half the load's time). And
 * references are resolved by swagger-client's OpenAPI 3.0 resolver: its 3.1 resolver (ApiDOM) turns the
 * whole document into its own tree on every call, 40 to 80 times slower than the 3.0 resolver here: seconds
 * for each operation a reader opens, and once more on every load, for the Authorize button's security
 * schemes (swagger-ui issue #10748). This document's references are all local (`#/components/...`, checked in docs.test.ts),
 * which the 3.0 resolver dereferences to the same result, and the page still renders as 3.1 (the
 * document's own `openapi` field is untouched).
 */
const INIT = `const localReferences = (system) => {
  const client = SwaggerUIBundle.plugins.SwaggerClient(system);
  return {
    fn: {
      resolveSubtree: (spec, path, options) => client.fn.resolveSubtree({ ...spec, openapi: '3.0.4' }, path, options)
    }
  };
};
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: '#reference',
  deepLinking: true,
  tryItOutEnabled: true,
  withCredentials: true,
  docExpansion: 'none',
  // The base layout: no explore bar (the page's own bar leads back to the dashboard).
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [localReferences],
  layout: 'BaseLayout'
});`;

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'";

/** The interactive API reference (Swagger UI) at /api/v1/docs. Open, like the document it reads. */
export function mountDocs(app: ServiceApp): void {
  const cache = new Map<string, Buffer>();
  app.get(DOCS_PATH, (c) => c.html(PAGE, 200, { 'Content-Security-Policy': CSP }));
  app.get(`${DOCS_PATH}/icon.svg`, (c) =>
    c.body(ICON, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=86400' }),
  );
  app.get(`${DOCS_PATH}/init.js`, (c) => c.body(INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));
  app.get(`${DOCS_PATH}/assets/:file`, (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (!type) return c.notFound();
    let body = cache.get(file);
    if (!body) {
      body = readFileSync(join(SWAGGER_DIR, file));
      cache.set(file, body);
    }
    return c.body(new Uint8Array(body), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
  });
}
