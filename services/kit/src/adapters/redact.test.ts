import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from './redact.ts';

const KEY = 'sk-proj/Ab+9=Zq:x7~0123456789"quoted"';
const redactor = Redactor.for(KEY);
const b64 = (text: string) => Buffer.from(text).toString('base64');

const ENCODINGS: Record<string, string> = {
  plain: KEY,
  base64: b64(KEY),
  'base64 without padding': b64(KEY).replace(/=+$/, ''),
  base64url: Buffer.from(KEY).toString('base64url'),
  'URL-encoded': encodeURIComponent(KEY),
  'URL-encoded, lower-case escapes': encodeURIComponent(KEY).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  'every byte URL-encoded': [...Buffer.from(KEY)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join(''),
  'JSON-escaped': JSON.stringify(KEY).slice(1, -1),
  hex: Buffer.from(KEY).toString('hex'),
  HEX: Buffer.from(KEY).toString('hex').toUpperCase(),
  'URL-encoded base64': encodeURIComponent(b64(KEY)),
  'Basic auth (user:key)': b64(`user:${KEY}`),
  'bearer header in base64': b64(`Bearer ${KEY}`),
  'JSON in base64': b64(`{"k":"${KEY}","n":1}`),
};

/** Whether the key can be read back: decoded from every base64 run at every offset, hex, or URL-encoding. */
function reveals(text: string): boolean {
  if (text.includes(KEY) || text.includes(JSON.stringify(KEY).slice(1, -1))) return true;
  if (decodeURIComponent(text.replace(/%(?![0-9a-f]{2})/gi, '%25')).includes(KEY)) return true;
  for (const run of text.match(/[0-9a-f]{16,}/gi) ?? [])
    if (Buffer.from(run, 'hex').toString('latin1').includes(KEY)) return true;
  for (const run of decodeURIComponent(text).match(/[A-Za-z0-9+/_-]{16,}/g) ?? [])
    for (let start = 0; start < 4; start++)
      if (Buffer.from(run.slice(start), 'base64').toString('latin1').includes(KEY)) return true;
  return false;
}

describe('Redactor', () => {
  it.each(Object.entries(ENCODINGS))('removes the key written as %s, and keeps the text around it', (_name, encoded) => {
    expect(reveals(`before ${encoded} after`)).toBe(true);
    const out = redactor.text(`before ${encoded} after`);
    expect(reveals(out)).toBe(false);
    expect(out).toContain(REDACTED);
    expect(out.startsWith('before ')).toBe(true);
    expect(out.endsWith(' after')).toBe(true);
  });

  it('finds the key at every offset of a longer base64 stream', () => {
    for (let lead = 0; lead < 9; lead++) {
      const stream = b64(`${'p'.repeat(lead)}${KEY}${'q'.repeat(lead % 4)}`);
      expect(reveals(redactor.text(`token=${stream}`)), `${lead} bytes before the key`).toBe(false);
    }
  });

  it('leaves text without the key as it is, and looks for nothing when the key is missing or too short', () => {
    const text = 'You said: hello, sk-proj is a prefix; c2stcHJvai9 too; %73%6b; 736b2d70726f6a. The end.';
    expect(redactor.text(text)).toBe(text);
    expect(Redactor.for(null).text(KEY)).toBe(KEY);
    expect(Redactor.for('abc').text('abc abc')).toBe('abc abc');
  });

  it('redacts JSON values, keys and strings at any depth, and leaves other values alone', () => {
    const data = Buffer.from('bytes');
    const value = { a: [{ b: `x ${b64(KEY)} y` }], [KEY]: 1, n: 2, nil: null, data };
    expect(redactor.json(value)).toEqual({ a: [{ b: `x ${REDACTED} y` }], [REDACTED]: 1, n: 2, nil: null, data });
  });

  it('redacts a stream however it is cut, holding back only what may be the start of the key', () => {
    const text = `You said: ${Object.values(ENCODINGS).join(' and ')} — sk and c2s and 73 at the end`;
    const whole = redactor.text(text);
    expect(reveals(whole)).toBe(false);
    for (let size = 1; size <= 40; size += 3) {
      const stream = redactor.stream();
      const pieces: string[] = [];
      for (let at = 0; at < text.length; at += size) pieces.push(stream.push(text.slice(at, at + size)));
      pieces.push(stream.end());
      expect(pieces.join(''), `pieces of ${size}`).toBe(whole);
      for (const piece of pieces) expect(reveals(piece)).toBe(false);
    }
    const stream = redactor.stream();
    expect(stream.push('plain text, no key. ')).toBe('plain text, no key. ');
    expect(stream.push('then sk-pr')).toBe('then ');
    expect(stream.push('oj/Ab+9=Zq:x7~0123456789"quoted" done') + stream.end()).toBe(`${REDACTED} done`);
  });

  it('redacts the start of the key when the text ends in the middle of it (a stream cut during an echo)', () => {
    expect(redactor.text(`cut: ${KEY.slice(0, 20)}`)).toBe(`cut: ${REDACTED}`);
    expect(redactor.text('ends with sk')).toBe('ends with sk');
  });
});
