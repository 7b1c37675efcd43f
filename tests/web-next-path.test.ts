import { describe, expect, it } from 'vitest';
import { loginPathFor, safeNext } from '../web/src/lib/next-path.ts';

describe('the return path after signing in', () => {
  it('keeps a path of this dashboard with its query', () => {
    expect(safeNext('/settings/tokens?cursor=abc')).toBe('/settings/tokens?cursor=abc');
    expect(safeNext('/llm')).toBe('/llm');
  });

  it.each([
    'https://evil.example/',
    '//evil.example/path',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    '/ok\nLocation: x',
    'settings',
    '/api/v1/logout',
    '/login',
    '',
    null,
    undefined,
  ])('refuses %j and goes to the overview instead', (value) => {
    expect(safeNext(value)).toBe('/llm');
  });

  it('makes the sign-in address that comes back here', () => {
    expect(loginPathFor(new URL('http://x/settings/tokens?cursor=a'))).toBe('/login?next=%2Fsettings%2Ftokens%3Fcursor%3Da');
    expect(loginPathFor(new URL('http://x/llm'))).toBe('/login');
  });
});
