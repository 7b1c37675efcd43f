import { z } from 'zod';
import { httpUrl, loadConfig, millis, secret } from '@llmops/kit/config';
import { PASSWORD_COST } from './auth/passwords.ts';
import { parseCidr, type Cidr } from './auth/forwarded.ts';

const count = (what: string) =>
  z.coerce
    .number({ message: `expected a whole number of ${what}` })
    .int({ message: `expected a whole number of ${what}` })
    .min(0, { message: `expected a whole number of ${what}, 0 or more` });

const passwordCost = z.coerce
  .number({ message: 'expected a whole number' })
  .int({ message: 'expected a whole number' })
  .min(PASSWORD_COST.min, { message: `expected ${PASSWORD_COST.min} to ${PASSWORD_COST.max} (log2 of scrypt's N)` })
  .max(PASSWORD_COST.max, { message: `expected ${PASSWORD_COST.min} to ${PASSWORD_COST.max} (log2 of scrypt's N)` })
  .default(PASSWORD_COST.default);

/**
 * The password cost of an operator command (`npm run llmops -- account create`, `token create`), which hashes
 * without a gateway: GATEWAY_PASSWORD_COST from its environment, as the gateway reads it.
 */
export function passwordCostOf(env: NodeJS.ProcessEnv = process.env): number {
  return loadConfig(z.object({ GATEWAY_PASSWORD_COST: passwordCost }), env).GATEWAY_PASSWORD_COST;
}

/** The gateway's own settings (README lists them), parsed once in main.ts next to the common ones. */
export const GatewayEnvSchema = z.object({
  /** How long a sign-in lasts (absolute; signing in again starts a new one). */
  GATEWAY_SESSION_TTL_HOURS: z.coerce
    .number({ message: 'expected a number of hours' })
    .positive({ message: 'expected a number of hours above 0' })
    .max(24 * 365, { message: 'expected at most 8760 hours (a year)' })
    .default(24 * 7),
  /** Set-Cookie `Secure`: `auto` when the request came over https (X-Forwarded-Proto), or always / never. */
  GATEWAY_SECURE_COOKIES: z.enum(['auto', 'always', 'never']).default('auto'),
  /** Origins, besides the dashboard's and the gateway's own, whose cookie-authenticated writes are accepted (comma separated). */
  GATEWAY_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim().replace(/\/$/, ''))
        .filter(Boolean),
    )
    .pipe(z.array(httpUrl)),
  /** The dashboard server's own secret: its X-Forwarded-* are believed (docs/security.md). Unset: nobody's are. */
  LLMOPS_WEB_PROXY_SECRET: secret.optional(),
  /** Reverse proxies in front (comma-separated CIDR ranges or addresses) whose X-Forwarded-* are believed. */
  GATEWAY_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((value, ctx) =>
      value
        .split(',')
        .filter((item) => item.trim() !== '')
        .flatMap((item): Cidr[] => {
          const cidr = parseCidr(item);
          if (cidr) return [cidr];
          ctx.addIssue({
            code: 'custom',
            message: `expected CIDR ranges or addresses such as 10.0.0.0/8, fd00::/8; got "${item.trim()}"`,
          });
          return [];
        }),
    ),
  /** How long a checked token or session is trusted without asking the database (revocations are pushed at once). */
  GATEWAY_AUTH_CACHE_MS: millis().default(60_000),
  /** How often tokens' last-used times are written, in one statement. */
  GATEWAY_LAST_USED_FLUSH_MS: millis().default(10_000),
  /** Requests per minute per API token (0: no limit). */
  GATEWAY_RATE_LIMIT_TOKEN: count('requests per minute').default(600),
  /** Requests per minute per account, over all its sessions and tokens (0: no limit). */
  GATEWAY_RATE_LIMIT_ACCOUNT: count('requests per minute').default(1200),
  /** How often this instance settles its requests with the other gateway instances' (the shared rate limits). */
  GATEWAY_RATE_LIMIT_SYNC_MS: millis().default(500),
  /**
   * How hard a password is to hash: log2 of scrypt's N (14–20; each step doubles the time and memory of a
   * sign-in). Stored hashes name their own cost, so a change applies to passwords set from then on.
   */
  GATEWAY_PASSWORD_COST: passwordCost,
  /** Failed sign-ins allowed per email in 15 minutes, and per client address (10×). */
  GATEWAY_LOGIN_MAX_FAILURES: count('failures').min(1).default(10),
  /** How often an idle event stream gets a heartbeat comment. */
  GATEWAY_SSE_HEARTBEAT_MS: millis().default(15_000),
  /** An event stream client whose unsent backlog passes this many bytes is dropped (it reconnects and resumes). */
  GATEWAY_SSE_MAX_BACKLOG_BYTES: count('bytes')
    .min(1024)
    .default(1024 * 1024),
  /** Recent events kept in memory so reconnecting clients resume without a database read. */
  GATEWAY_SSE_HISTORY: count('events').default(10_000),
  /** How long the gateway keeps reading events after its last event stream client left (none: it reads nothing). */
  GATEWAY_SSE_IDLE_MS: millis().default(30_000),
  /** How long a service may take to start answering a proxied request. */
  GATEWAY_UPSTREAM_TIMEOUT_MS: millis().default(60_000),
});
export type GatewayConfig = z.output<typeof GatewayEnvSchema>;
