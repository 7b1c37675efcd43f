import type {} from 'vitest';
// What the global setup (tests/setup/global.ts) hands every test file through vitest's provide/inject.
declare module 'vitest' {
  interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}
export {};
