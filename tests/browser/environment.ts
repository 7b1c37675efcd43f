/**
 * The environments the browser tests start the dashboard server and the gateway with, as `npm start`
 * gives them: the same web proxy secret to both (docs/security.md, "Client address and origin"). The
 * password cost is the test run's (vitest.config.ts), for every gateway a test builds an environment for.
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
    ...passwordCost(),
  };
}

/** The password cost the test run sets (vitest.config.ts), for a gateway whose environment a test builds. */
export function passwordCost(): Record<string, string> {
  const cost = process.env.GATEWAY_PASSWORD_COST;
  return cost ? { GATEWAY_PASSWORD_COST: cost } : {};
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
