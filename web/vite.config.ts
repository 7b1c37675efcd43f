import { readFileSync, writeFileSync } from 'node:fs';
import nodeAdapter from '@sveltejs/adapter-node';
import type { Adapter } from '@sveltejs/kit';
import { sveltekit, type Config } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

const OUT = 'build';

/**
 * adapter-node, with the server's origin read from ORIGIN when it starts. adapter-node 6 takes the origin
 * from `paths.origin` at build time only and otherwise assumes https + the Host header; the supervisor
 * (and the browser tests) know the dashboard's URL only at start. A wrong origin would give the gateway
 * X-Forwarded-Proto https and make SvelteKit's CSRF check refuse the browser's own form posts.
 */
function adapter(): Adapter {
  const base = nodeAdapter({ out: OUT });
  return {
    ...base,
    async adapt(builder) {
      await base.adapt(builder);
      const file = `${OUT}/adapter-node.js`;
      const built = readFileSync(file, 'utf8');
      const line = /^export const origin = .*;$/m;
      if (!line.test(built)) throw new Error(`${file} has no origin export; check the adapter-node upgrade (vite.config.ts)`);
      writeFileSync(
        file,
        built.replace(line, 'export const origin = process.env.ORIGIN ? new URL(process.env.ORIGIN).origin : undefined;'),
      );
    },
  };
}

/**
 * The Content-Security-Policy of every page SvelteKit renders (docs/ui.md). SvelteKit adds a fresh nonce
 * per response to script-src for its own inline start-up script; nothing else runs but our own files.
 * Styles allow inline ones: Svelte's transitions and the editor to come inject <style> elements and
 * style attributes (and app.html has one). With 'unsafe-inline' there SvelteKit adds no style nonce,
 * which would switch it off again. /api responses are the gateway's and keep its own headers.
 */
const csp: Config['csp'] = {
  mode: 'nonce',
  directives: {
    'default-src': ['self'],
    'script-src': ['self'],
    'style-src': ['self', 'unsafe-inline'],
    'img-src': ['self', 'data:'],
    'font-src': ['self'],
    'connect-src': ['self'],
    'object-src': ['none'],
    'base-uri': ['self'],
    'form-action': ['self'],
    'frame-ancestors': ['none'],
  },
};

// SvelteKit 3 reads its configuration here (svelte.config.js is no longer read).
export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter(),
      // Absolute paths: the same links and asset URLs on every page, however deep (the 404 page included).
      paths: { relative: false },
      csp,
      // SvelteKit's own cross-site check answers in plain text before any hook runs; hooks.server.ts makes
      // the same check and answers /api requests with problem+json like every other refusal there.
      csrf: { trustedOrigins: ['*'] },
    }),
  ],
});
