import { ServiceUnavailable } from '@llmops/kit/problem';

/**
 * Stands in for the runtime when the app is built only to read its OpenAPI document (the dashboard's
 * code generator): any use answers 503 instead of touching a database that is not there.
 */
export function unconfigured<T extends object>(): T {
  return new Proxy({} as T, {
    get() {
      throw new ServiceUnavailable('The gateway was built without its runtime (document generation only).');
    },
  });
}
