/**
 * Registry commands the operator CLI runs against the database (infra/cli.ts: `key rotate`). They
 * connect as the admin role the CLI is given, like `db apply`.
 */
import { withClient } from '@llmops/kit/db';
import { EnvelopeError, open, seal, type Keyring } from '@llmops/kit/crypto/keyring';
import { publish } from '@llmops/kit/bus/index';
import { auditRecorded } from '@llmops/kit/events/audit';
import * as providers from '../db/providers.ts';

export interface RotationResult {
  /** How many provider keys were sealed again under the new current master key. */
  reencrypted: number;
  from: string;
  to: string;
}

/** A rotation that would lose a key; nothing was changed. The message says what to do. */
export class RotationRefused extends Error {
  override name = 'RotationRefused';
}

type KeyRow = Awaited<ReturnType<typeof providers.withKeysForUpdate>>[number];

/** Why a provider's key cannot be carried over by this rotation, or undefined. */
function stranded(from: Keyring, row: KeyRow): string | undefined {
  try {
    open(from, row.api_key_envelope as string, row.id);
    return undefined;
  } catch (error) {
    const keyId = error instanceof EnvelopeError ? error.keyId : undefined;
    return keyId && !from.keys.some((key) => key.id === keyId)
      ? `provider "${row.name}" (${row.id}): its key is sealed with master key "${keyId}", which is not in the keyring given`
      : `provider "${row.name}" (${row.id}): ${(error as Error).message}`;
  }
}

/**
 * Re-encrypts every provider key under `to`'s current master key, in one transaction. Each key is
 * opened with `from`; unless `dropPrevious`, the envelope it had is kept as the previous envelope, so
 * registry processes still running on the old keyring keep decrypting until they restart with the new
 * one. Writes one audit record; never a key.
 *
 * `to` keeps only `from`'s current key, so a rotation drops the others. It is refused, with nothing
 * changed, when a key is sealed with a master key that `from` lacks — a keyring older than the
 * database's (an LLMOPS_MASTER_KEYS that never got the last rotation's keyring): carrying such a key
 * over through its previous envelope would drop the master key that seals it, and the registry, on the
 * real keyring, could no longer read what this rotation wrote. `beforeReencrypt` runs once every key is
 * known to open, before any is changed (the CLI puts the new keyring in place there).
 */
export async function rotateKeys(
  adminUrl: string,
  {
    from,
    to,
    dropPrevious = false,
    beforeReencrypt,
  }: { from: Keyring; to: Keyring; dropPrevious?: boolean; beforeReencrypt?: () => void | Promise<void> },
): Promise<RotationResult> {
  return withClient(adminUrl, async (client) => {
    await client.query('BEGIN');
    try {
      const rows = await providers.withKeysForUpdate(client);
      const problems = rows.map((row) => stranded(from, row)).filter((problem) => problem !== undefined);
      if (problems.length > 0) {
        throw new RotationRefused(
          `Nothing was changed: ${problems.length} provider key(s) would be lost.\n  ${problems.join('\n  ')}\n` +
            `Rotate with the keyring the registry runs on (the one the last \`key rotate\` printed or wrote; its current key seals these), ` +
            'or, if that master key is lost, set each key again (PATCH /api/v1/providers/{id} with api_key) to re-seal it under the current one.',
        );
      }
      await beforeReencrypt?.();
      for (const row of rows) {
        const current = row.api_key_envelope as string;
        const plaintext = open(from, current, row.id);
        await providers.setEnvelopes(client, row.id, seal(to, plaintext, row.id), dropPrevious ? null : current);
      }
      await publish(client, auditRecorded, {
        actor: { kind: 'service', id: 'operator-cli' },
        action: 'keyring.rotated',
        service: 'registry',
        resource: { type: 'keyring', id: to.current.id },
        before: { current_key_id: from.current.id },
        after: { current_key_id: to.current.id, provider_keys: rows.length, previous_envelopes_kept: !dropPrevious },
        request_id: null,
        at: new Date().toISOString(),
      });
      await client.query('COMMIT');
      return { reencrypted: rows.length, from: from.current.id, to: to.current.id };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
