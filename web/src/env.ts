import { defineEnvVars } from '@sveltejs/kit/env';

/** A variable's value as an http(s) URL without a trailing slash, or a thrown error that names the variable. */
function httpUrl(name: string, fallback: string) {
  return (value: string | undefined): string => {
    const text = value || fallback;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`${name} must be an http(s) URL such as ${fallback}; got ${JSON.stringify(text)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`${name} must be an http(s) URL such as ${fallback}; got ${JSON.stringify(text)}`);
    }
    return text.replace(/\/+$/, '');
  };
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * The dashboard server's own environment (HOST, PORT and ORIGIN are read by adapter-node). Read when the
 * server starts, never inlined at build time. The supervisor sets every one of them (ADR 0008).
 */
export const variables = defineEnvVars({
  GATEWAY_URL: {
    description: 'Where the gateway is reached from this server; /api/* is proxied there.',
    schema: httpUrl('GATEWAY_URL', 'http://127.0.0.1:7401'),
  },
  LLMOPS_WEB_PROXY_SECRET: {
    description:
      "This server's proof to the gateway that the client address and origin it forwards are true: the gateway's " +
      'LLMOPS_WEB_PROXY_SECRET (npm start gives both the same one). Unset: the gateway believes none of them.',
    schema: (value: string | undefined): string | undefined => {
      if (!value) return undefined;
      if (value.length < 32) throw new Error("LLMOPS_WEB_PROXY_SECRET must be at least 32 characters, the gateway's value");
      return value;
    },
  },
  LOG_LEVEL: {
    description: 'fatal, error, warn, info (default), debug, trace or silent.',
    schema: (value): LogLevel => {
      const level = (value || 'info').toLowerCase();
      if (!(LEVELS as readonly string[]).includes(level)) {
        throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(', ')}; got ${JSON.stringify(value)}`);
      }
      return level as LogLevel;
    },
  },
});
