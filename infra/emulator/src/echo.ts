/**
 * A misbehaving provider (a proxy, a misconfigured local server) that echoes the key it received, in one
 * of the encodings servers are seen to use: as sent, base64 and base64url, URL-encoded, hex in either
 * case, and base64 of a longer text that holds the key (a Basic auth header, a bearer header, a JSON
 * blob), which puts the key at each of the three alignments a base64 stream can have.
 */
export const KEY_ENCODINGS = [
  'plain',
  'base64',
  'base64url',
  'url',
  'hex',
  'HEX',
  'basic-auth',
  'bearer-base64',
  'json-base64',
] as const;
export type KeyEncoding = (typeof KEY_ENCODINGS)[number];

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** The key as a server would echo it in `encoding`. */
export function encodeKey(key: string, encoding: KeyEncoding): string {
  switch (encoding) {
    case 'plain':
      return key;
    case 'base64':
      return base64(key);
    case 'base64url':
      return Buffer.from(key, 'utf8').toString('base64url');
    case 'url':
      return encodeURIComponent(key);
    case 'hex':
      return Buffer.from(key, 'utf8').toString('hex');
    case 'HEX':
      return Buffer.from(key, 'utf8').toString('hex').toUpperCase();
    // The key starts at byte 5 of `user:key` (alignment 2), at byte 7 of `Bearer key` (alignment 1) and
    // at byte 6 of `{"k":"key"…` (alignment 0): the three ways it can sit in a base64 stream.
    case 'basic-auth':
      return base64(`user:${key}`);
    case 'bearer-base64':
      return base64(`Bearer ${key}`);
    case 'json-base64':
      return base64(`{"k":"${key}","at":"2025-01-01"}`);
  }
}

/**
 * The echo as the text of a reply, split into pieces so that in a stream the key never arrives in one
 * chunk (a redaction that looks at chunks one by one would miss it).
 */
export function echoChunks(key: string, encoding: KeyEncoding): string[] {
  const echoed = encodeKey(key, encoding);
  const third = Math.ceil(echoed.length / 3);
  return [' (key: ', echoed.slice(0, third), echoed.slice(third, 2 * third), `${echoed.slice(2 * third)}) `];
}
