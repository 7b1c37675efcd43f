import { SvelteMap } from 'svelte/reactivity';
import { browserClient } from './api/client.ts';

/**
 * The names of accounts, read from the gateway's `/api/v1/account-names` as pages ask for them: every id
 * asked for during one tick goes in one request, and each id is asked once per page load. Reading a name
 * in markup re-renders it when the name arrives.
 */
const names = new SvelteMap<string, string>();
// Not reactive on purpose: it only keeps each id from being asked for twice.
// eslint-disable-next-line svelte/prefer-svelte-reactivity
const asked = new Set<string>();
let batch: string[] = [];

/** The account's name, or undefined until it has been read (or when no account has that id). */
export function accountName(id: string): string | undefined {
  if (typeof window !== 'undefined' && !asked.has(id)) {
    asked.add(id);
    batch.push(id);
    if (batch.length === 1) queueMicrotask(() => void readBatch());
  }
  return names.get(id);
}

async function readBatch(): Promise<void> {
  const ids = batch;
  batch = [];
  for (let start = 0; start < ids.length; start += 100) {
    const answer = await browserClient().GET('/api/v1/account-names', {
      params: { query: { id: ids.slice(start, start + 100) } },
    });
    // Unread names stay ids: the author is still shown, only less readably.
    for (const item of answer.data?.items ?? []) names.set(item.id, item.name);
  }
}
