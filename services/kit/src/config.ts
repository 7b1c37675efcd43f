import { z } from 'zod';
import { PORT_OFFSETS } from './services.ts';

/** Thrown when the environment does not satisfy a config schema; the message names every variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** One line per wrong setting (`VARIABLE: what is expected (what was found)`), so several checks can be reported as one. */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = [message]) {
    super(message);
    this.problems = problems;
  }
}

const HEADER = 'Invalid configuration; set these environment variables:';

/** One ConfigError for the problems of several checks, each said once, in the order found. */
export function configErrorOf(problems: readonly string[]): ConfigError {
  const unique = [...new Set(problems)];
  return new ConfigError(`${HEADER}\n${unique.map((line) => `  ${line}`).join('\n')}`, unique);
}

/**
 * Parses the environment once against a zod schema whose keys are variable names.
 * Every problem is reported at once: which variable, what was found, what is expected.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw configErrorOf(
    result.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      const value = issue.path.length > 0 ? env[String(issue.path[0])] : undefined;
      const found = value === undefined ? 'it is not set' : `found ${JSON.stringify(value)}`;
      return `${variable}: ${issue.message} (${found})`;
    }),
  );
}

/** Runs `fn`; a ConfigError ends the process at once with its message (exit code 78, EX_CONFIG). */
export function configOrExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

export const port = z.coerce
  .number({ message: 'expected a TCP port number' })
  .int('expected a whole number')
  .min(0, 'expected a port between 0 and 65535')
  .max(65535, 'expected a port between 0 and 65535');

const HIGHEST_OFFSET = Math.max(...Object.values(PORT_OFFSETS));

/** LLMOPS_PORT_BASE: the plan uses base to base+6 (ADR 0008), so every one of those must be a port. */
export const portBase = z.coerce
  .number({ message: 'expected a TCP port number' })
  .int('expected a whole number')
  .min(1, `expected a port from 1 to ${65535 - HIGHEST_OFFSET}`)
  .max(
    65535 - HIGHEST_OFFSET,
    `expected a port from 1 to ${65535 - HIGHEST_OFFSET}: the plan uses base to base+${HIGHEST_OFFSET} (web, the five services, embedded PostgreSQL), and ports end at 65535`,
  );

export const postgresUrl = z
  .string({ message: 'expected a PostgreSQL URL such as postgres://user:password@host:5432/database' })
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'expected a postgres:// or postgresql:// URL');

/** A pool's most connections: at least 1; PostgreSQL's max_connections must fit every process's (docs/operations.md). */
export const poolSize = z.coerce
  .number({ message: 'expected a whole number of connections' })
  .int({ message: 'expected a whole number of connections' })
  .min(1, { message: 'expected at least 1 connection' })
  .max(1_000, { message: 'expected at most 1000 connections' });

export const httpUrl = z.string().refine((value) => /^https?:\/\/[^/]+/.test(value), 'expected an http:// or https:// URL');

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/** A duration in milliseconds, written as a number of milliseconds. */
export const millis = () => z.coerce.number({ message: 'expected a number of milliseconds' }).int().positive();

/** An internal secret: at least 32 characters so HMAC keys are never guessable. */
export const secret = z
  .string({ message: 'expected a secret of at least 32 characters (e.g. `openssl rand -base64 48`)' })
  .min(32, 'expected a secret of at least 32 characters (e.g. `openssl rand -base64 48`)');
