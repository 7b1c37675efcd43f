import { z } from 'zod';
import { KEYRING_HELP, KEYRING_VARIABLE, KeyringError, parseKeyring, type Keyring } from '@llmops/kit/crypto/keyring';
import { configErrorOf } from '@llmops/kit/config';

/** The registry's own settings, on top of every service's (kit/runtime). */
export const RegistryEnvSchema = z.object({
  [KEYRING_VARIABLE]: z.string({
    message: `the registry needs the master keyring that encrypts provider API keys. ${KEYRING_HELP}. \`npm start\` without DATABASE_URL makes one in .data/master-keys by itself.`,
  }),
});

/** The keyring from the environment; a missing or malformed one stops start-up with how to make one. */
export function keyringFrom(rawEnv: Readonly<Record<string, string | undefined>>): Keyring {
  const value = rawEnv[KEYRING_VARIABLE];
  if (value === undefined || value.trim() === '') {
    throw configErrorOf([
      `${KEYRING_VARIABLE}: the registry needs the master keyring that encrypts provider API keys (it is not set). ${KEYRING_HELP}. Only \`npm start\` without DATABASE_URL makes one by itself (in .data/master-keys).`,
    ]);
  }
  try {
    return parseKeyring(value);
  } catch (error) {
    if (error instanceof KeyringError) throw configErrorOf([error.message]);
    throw error;
  }
}
