import { describe, expect, it } from 'vitest';
import { SdkClients } from './clients.ts';
import type { ProviderConnection } from './types.ts';

const connection: ProviderConnection = {
  kind: 'openai',
  baseUrl: 'http://127.0.0.1:1/v1',
  apiKey: 'sk-one',
  headers: { 'X-A': '1', 'X-B': '2' },
};

describe('SDK clients kept per connection', () => {
  it('reuses a client for the same connection, and builds another when anything the client is built from differs', () => {
    let built = 0;
    const clients = new SdkClients(() => ({ n: built++ }));
    const first = clients.get(connection);
    expect(clients.get({ ...connection, headers: { 'X-B': '2', 'X-A': '1' } })).toBe(first);
    for (const other of [
      { apiKey: 'sk-two' },
      { baseUrl: 'http://127.0.0.1:2/v1' },
      { organization: 'org' },
      { project: 'proj' },
      { headers: { 'X-A': '1' } },
    ])
      expect(clients.get({ ...connection, ...other })).not.toBe(first);
    expect(built).toBe(6);
  });

  it('keeps the most recently used, up to its bound', () => {
    let built = 0;
    const clients = new SdkClients(() => ({ n: built++ }), { max: 2 });
    const a = clients.get({ ...connection, apiKey: 'a' });
    clients.get({ ...connection, apiKey: 'b' });
    expect(clients.get({ ...connection, apiKey: 'a' })).toBe(a); // a is now the most recent
    clients.get({ ...connection, apiKey: 'c' }); // b goes
    expect(clients.size).toBe(2);
    expect(clients.get({ ...connection, apiKey: 'a' })).toBe(a);
    const before = built;
    clients.get({ ...connection, apiKey: 'b' });
    expect(built).toBe(before + 1);
  });

  it('drops a client unused for its idle time, so an old key is not kept in memory', () => {
    let built = 0;
    let now = 0;
    const clients = new SdkClients(() => ({ n: built++ }), { idleMs: 1_000, now: () => now });
    const old = clients.get({ ...connection, apiKey: 'rotated-away' });
    now = 600;
    const kept = clients.get(connection);
    now = 1_200; // the first unused for 1,200 ms, the second for 600
    clients.get({ ...connection, apiKey: 'another' });
    expect(clients.size).toBe(2);
    expect(clients.get(connection)).toBe(kept);
    expect(clients.get({ ...connection, apiKey: 'rotated-away' })).not.toBe(old);
  });
});
