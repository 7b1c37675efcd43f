import { loadConfig } from '@llmops/kit/config';
import type { PublicRoute } from '@llmops/kit/contracts/index';
import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import * as accounts from './db/accounts.ts';
import * as sessions from './db/sessions.ts';
import { createApp } from './app.ts';
import { consumeAuditEvents } from './consumers/audit-log.ts';
import { GatewayEnvSchema } from './config.ts';
import { Authenticator } from './auth/credential-checker.ts';
import { EventHub } from './events/hub.ts';
import { observeEventStreams } from './events/metrics.ts';
import { trustOf } from './auth/forwarded.ts';
import { RateLimiter } from './auth/rate-limit.ts';
import { SharedRateWindow } from './auth/rate-limit-sync.ts';

/**
 * The gateway's composition root for an environment: its own settings (GATEWAY_*) are read from
 * `rawEnv` here, once. Tests build with settings of their own through this.
 */
export function gatewayBuilder(
  rawEnv: NodeJS.ProcessEnv | Record<string, string> = process.env,
  { routes }: { routes?: readonly PublicRoute[] } = {},
) {
  return async function build({ env, log, pool, bus, urls, readiness, metrics }: ServiceContext): Promise<ServiceParts> {
    const config = loadConfig(GatewayEnvSchema, rawEnv);
    const auth = new Authenticator({
      pool,
      log,
      cacheMs: config.GATEWAY_AUTH_CACHE_MS,
      flushMs: config.GATEWAY_LAST_USED_FLUSH_MS,
    });
    const limiter = new RateLimiter({ perToken: config.GATEWAY_RATE_LIMIT_TOKEN, perAccount: config.GATEWAY_RATE_LIMIT_ACCOUNT });
    const rateWindow = new SharedRateWindow({ limiter, pool, log, syncMs: config.GATEWAY_RATE_LIMIT_SYNC_MS });
    const hub = new EventHub({
      bus,
      pool,
      log,
      heartbeatMs: config.GATEWAY_SSE_HEARTBEAT_MS,
      maxBacklogBytes: config.GATEWAY_SSE_MAX_BACKLOG_BYTES,
      historySize: config.GATEWAY_SSE_HISTORY,
      idleMs: config.GATEWAY_SSE_IDLE_MS,
    });
    observeEventStreams(metrics, hub);
    const app = createApp({
      log,
      readiness,
      metrics,
      ...(routes ? { routes } : {}),
      runtime: {
        pool,
        auth,
        limiter,
        hub,
        config,
        proxy: { secret: env.LLMOPS_INTERNAL_SECRET, urls, timeoutMs: config.GATEWAY_UPSTREAM_TIMEOUT_MS },
        allowedOrigins: [urls.web, ...config.GATEWAY_ALLOWED_ORIGINS],
        forwarding: trustOf(config.LLMOPS_WEB_PROXY_SECRET, config.GATEWAY_TRUSTED_PROXIES),
      },
    });
    const audit = consumeAuditEvents(bus, pool);
    let sweep: NodeJS.Timeout | undefined;
    return {
      app,
      start: async () => {
        await auth.start(bus);
        await hub.start();
        rateWindow.start();
        sweep = setInterval(() => {
          sessions.deleteExpired(pool).catch((error: unknown) => log.warn({ err: error }, 'could not delete expired sessions'));
        }, 3_600_000);
        sweep.unref();
        if (!(await accounts.any(pool))) {
          log.warn(
            'no account exists yet: open the setup link `npm start` prints, or run `npm run llmops -- account setup-link`',
          );
        }
      },
      // Event streams end at once: their clients reconnect (to another instance, or to this one restarted) and resume.
      closing: () => hub.closeClients(),
      stop: async () => {
        if (sweep) clearInterval(sweep);
        await hub.stop();
        await rateWindow.stop();
        await audit.stop();
        await auth.stop();
      },
    };
  };
}

/** The gateway's composition root (settings from the process environment). */
export const buildGateway = gatewayBuilder();

if (import.meta.main) await runMain('gateway', buildGateway);
