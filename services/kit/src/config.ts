import { z } from 'zod';

/** Thrown when the environment does not satisfy a config schema; the message names every variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment once against a zod schema whose keys are variable names.
 * Every problem is reported at once: which variable, what was found, what is expected.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    const value = issue.path.length > 0 ? env[String(issue.path[0])] : undefined;
    const found = value === undefined ? 'it is not set' : `found ${JSON.stringify(value)}`;
    return `  ${variable}: ${issue.message} (${found})`;
  });
  throw new ConfigError(`Invalid configuration; set these environment variables:\n${lines.join('\n')}`);
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

export const postgresUrl = z
  .string({ message: 'expected a PostgreSQL URL such as postgres://user:password@host:5432/database' })
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'expected a postgres:// or postgresql:// URL');

export const httpUrl = z.string().refine((value) => /^https?:\/\/[^/]+/.test(value), 'expected an http:// or https:// URL');

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/** A duration in milliseconds, written as a number of milliseconds. */
export const millis = () => z.coerce.number({ message: 'expected a number of milliseconds' }).int().positive();

/** An internal secret: at least 32 characters so HMAC keys are never guessable. */
export const secret = z
  .string({ message: 'expected a secret of at least 32 characters (e.g. `openssl rand -base64 48`)' })
  .min(32, 'expected a secret of at least 32 characters (e.g. `openssl rand -base64 48`)');
