import { describe, expect, it } from 'vitest';
import { HttpProblem } from '@llmops/kit/problem';
import { parseCidr, requestSource, trustOf, WEB_PROXY_SECRET_HEADER, type Cidr } from './forwarded.ts';

const SECRET = 'web-proxy-secret-'.padEnd(48, 'x');
const URL_OF_GATEWAY = 'http://127.0.0.1:7401/api/v1/login';

function source(peer: string, headers: Record<string, string>, { secret = SECRET, proxies = [] as string[] } = {}) {
  const trust = trustOf(
    secret,
    proxies.map((text) => parseCidr(text) as Cidr),
  );
  return requestSource(trust, { peer, url: URL_OF_GATEWAY, header: (name) => headers[name] });
}

const spoofed = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

describe('where a request comes from', () => {
  it('ignores X-Forwarded-* from anyone untrusted, loopback included', () => {
    for (const peer of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '198.51.100.4']) {
      const seen = source(peer, spoofed);
      expect(seen).toEqual({ address: peer.replace('::ffff:', ''), origin: 'http://127.0.0.1:7401', protocol: 'http' });
    }
  });

  it('believes the dashboard server that sends its secret', () => {
    expect(source('127.0.0.1', { ...spoofed, [WEB_PROXY_SECRET_HEADER]: SECRET })).toEqual({
      address: '203.0.113.9',
      origin: 'https://evil.example',
      protocol: 'https',
    });
  });

  it('refuses a wrong secret, or one sent to a gateway that has none, naming the setting', () => {
    for (const secret of [SECRET, undefined]) {
      let refused: unknown;
      try {
        source('127.0.0.1', { [WEB_PROXY_SECRET_HEADER]: 'guess' }, { secret: secret as string });
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(HttpProblem);
      expect((refused as HttpProblem).status).toBe(403);
      expect((refused as Error).message).toContain('LLMOPS_WEB_PROXY_SECRET');
    }
  });

  it('takes the address a trusted proxy saw: the rightmost one that is not itself a trusted proxy', () => {
    const proxies = ['10.0.0.0/8', 'fd00::/8'];
    const via = (peer: string, forwardedFor: string) => source(peer, { 'x-forwarded-for': forwardedFor }, { proxies }).address;
    expect(via('10.1.2.3', '203.0.113.9')).toBe('203.0.113.9');
    // The client's own claim (left) is not believed; the second proxy's hop is skipped.
    expect(via('10.1.2.3', '192.0.2.1, 203.0.113.9, 10.9.9.9')).toBe('203.0.113.9');
    expect(via('::ffff:10.1.2.3', '2001:db8::7')).toBe('2001:db8::7');
    expect(via('fd00::1', '::ffff:203.0.113.9')).toBe('203.0.113.9');
    // Garbage ends the walk at the last hop a trusted proxy vouched for.
    expect(via('10.1.2.3', 'not-an-address, 10.0.0.2')).toBe('10.0.0.2');
    expect(via('10.1.2.3', '')).toBe('10.1.2.3');
    // A peer outside the networks is not a proxy.
    expect(via('192.0.2.50', '203.0.113.9')).toBe('192.0.2.50');
  });

  it('keeps its own origin when a trusted hop sends a host or protocol that is not one', () => {
    const trusted = { [WEB_PROXY_SECRET_HEADER]: SECRET };
    for (const host of ['evil.example/path', 'user@evil.example', 'a b', 'blog.example:99999', '']) {
      expect(source('127.0.0.1', { ...trusted, 'x-forwarded-host': host }).origin).toBe('http://127.0.0.1:7401');
    }
    expect(source('127.0.0.1', { ...trusted, 'x-forwarded-proto': 'gopher' }).protocol).toBe('http');
    expect(source('127.0.0.1', { ...trusted, 'x-forwarded-host': 'Blog.Example:8443, other' }).origin).toBe(
      'http://blog.example:8443',
    );
  });

  it('reads networks as CIDR ranges or bare addresses, and nothing else', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr(' 192.0.2.7 ')).toEqual({ network: '192.0.2.7', prefix: 32, family: 'ipv4' });
    expect(parseCidr('fd00::/8')).toEqual({ network: 'fd00::', prefix: 8, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8/1', 'localhost', '10.0.0.0/-1', ''])
      expect(parseCidr(bad), bad).toBeUndefined();
  });
});
