/**
 * The dashboard's entry under the supervisor: the built server (web/build), stopped in order (its own
 * SIGTERM handling) when the supervisor is gone, even by kill -9, as every service is: the IPC channel
 * of its fork closes. The built server has no such hook of its own, so it was left running.
 */
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
await import(new URL('../web/build/index.js', import.meta.url).href);
