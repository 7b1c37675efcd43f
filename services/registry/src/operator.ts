/**
 * Registry commands the operator CLI runs against the database (infra/cli.ts: `key rotate`). They
 * connect as the admin role the CLI is given, like `db apply`.
 */
import { withClient } from '@llmops/kit/db';
import { open, seal, type Keyring } from '@llmops/kit/crypto/keyring';
import { publish } from '@llmops/kit/bus/index';
import { auditRecorded } from '@llmops/kit/events/audit';
import * as providers from './db/providers.ts';

export interface RotationResult {
  /** How many provider keys were sealed again under the new current master key. */
  reencrypted: number;
  from: string;
  to: string;
}

/**
 * Re-encrypts every provider key under `to`'s current master key, in one transaction. Each key is
 * opened with `from` (its current envelope, else its previous one); unless `dropPrevious`, the envelope
 * it had is kept as the previous envelope, so registry processes still running on the old keyring keep
 * decrypting until they restart with the new one. Writes one audit record; never a key.
 */
export async function rotateKeys(
  adminUrl: string,
  { from, to, dropPrevious = false }: { from: Keyring; to: Keyring; dropPrevious?: boolean },
): Promise<RotationResult> {
  return withClient(adminUrl, async (client) => {
    await client.query('BEGIN');
    try {
      const rows = await providers.withKeysForUpdate(client);
      for (const row of rows) {
        const current = row.api_key_envelope as string;
        let plaintext: string;
        try {
          try {
            plaintext = open(from, current, row.id);
          } catch (error) {
            if (!row.api_key_previous_envelope) throw error;
            plaintext = open(from, row.api_key_previous_envelope, row.id);
          }
        } catch (error) {
          throw new Error(
            `the key of provider ${row.id} does not decrypt with the keyring given (${(error as Error).message}); nothing was changed`,
            { cause: error },
          );
        }
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
