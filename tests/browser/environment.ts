/**
 * The environments the browser tests start the dashboard server and the gateway with, as `npm start`
 * gives them: the same web proxy secret to both (docs/security.md, "Client address and origin").
 */
const WEB_PROXY_SECRET = 'y'.repeat(40);

/** The gateway's settings for a test database (port 0, silent). */
export function gatewayEnv(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    LLMOPS_INTERNAL_SECRET: 'x'.repeat(40),
    LLMOPS_WEB_PROXY_SECRET: WEB_PROXY_SECRET,
    PORT: '0',
    LOG_LEVEL: 'silent',
    LLMOPS_HOST: '127.0.0.1',
  };
}

/** The built dashboard's settings: served at `url`, proxying to `gatewayUrl`. */
export function webEnv(url: string, gatewayUrl: string): NodeJS.ProcessEnv {
  const { hostname, port } = new URL(url);
  return {
    ...process.env,
    HOST: hostname,
    PORT: port,
    ORIGIN: url,
    GATEWAY_URL: gatewayUrl,
    LLMOPS_WEB_PROXY_SECRET: WEB_PROXY_SECRET,
    LOG_LEVEL: 'warn',
  };
}

export { WEB_PROXY_SECRET };
