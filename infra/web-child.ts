/**
 * The dashboard's entry under the supervisor: the built server (web/build), stopped in order (its own
 * SIGTERM handling) when the supervisor is gone, even by kill -9, as every service is: the IPC channel
 * of its fork closes. The built server has no such hook of its own, so it was left running.
 */
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
// The channel only watches for the supervisor; it must not keep the process alive once the server has
// closed on SIGTERM (adapter-node then lets the event loop end rather than calling exit).
process.channel?.unref();
await import(new URL('../web/build/index.js', import.meta.url).href);
