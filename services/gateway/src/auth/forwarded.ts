import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { Forbidden } from '@llmops/kit/problem';

/**
 * Who may say where a client is (docs/security.md, "Client address and origin"). X-Forwarded-For, -Host
 * and -Proto are believed only from the dashboard's server, which proves itself with a secret of its own
 * in this header (never the internal identity secret: the web cannot sign service identities), and from
 * the reverse proxies in GATEWAY_TRUSTED_PROXIES. Everyone else is the peer address it connects from;
 * every direct client is loopback by default, so address alone cannot tell the web apart.
 */
export const WEB_PROXY_SECRET_HEADER = 'x-llmops-proxy-secret';

export interface ForwardingTrust {
  /** LLMOPS_WEB_PROXY_SECRET, shared with the dashboard's server; undefined: no request is the web's. */
  webSecret: string | undefined;
  trustedProxies: BlockList;
}

/** A network as GATEWAY_TRUSTED_PROXIES gives it (a bare address is a /32 or /128). */
export interface Cidr {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare address; undefined when it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const [network = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(network);
  if (version === 0 || rest.length > 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(bits)) || prefix > bits) return undefined;
  return { network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function trustOf(webSecret: string | undefined, cidrs: readonly Cidr[]): ForwardingTrust {
  const trustedProxies = new BlockList();
  for (const { network, prefix, family } of cidrs) trustedProxies.addSubnet(network, prefix, family);
  return { webSecret, trustedProxies };
}

/** Trusts nobody's forwarded headers. */
export const NO_TRUST: ForwardingTrust = trustOf(undefined, []);

/** An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d; it is a.b.c.d. */
function plain(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? (mapped[1] as string) : address;
}

function isTrustedProxy(trust: ForwardingTrust, address: string): boolean {
  const version = isIP(address);
  return version !== 0 && trust.trustedProxies.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when the request carries the web's secret; a wrong one is refused, naming the setting to fix. */
function fromWeb(trust: ForwardingTrust, sent: string | undefined): boolean {
  if (sent === undefined) return false;
  if (trust.webSecret !== undefined && timingSafeEqual(digest(sent), digest(trust.webSecret))) return true;
  throw new Forbidden(
    `The ${WEB_PROXY_SECRET_HEADER} header does not match this gateway's LLMOPS_WEB_PROXY_SECRET: ` +
      'give the dashboard server and the gateway the same value (npm start does).',
  );
}

/**
 * The client behind a trusted hop: X-Forwarded-For read from the right (each hop appends the address it
 * saw), skipping trusted proxies; the first other address is the client. Entries left of it are the
 * client's own claims and are never believed.
 */
function forwardedClient(trust: ForwardingTrust, header: string | undefined, hop: string): string {
  let client = hop;
  const entries = (header ?? '').split(',').map((entry) => plain(entry.trim()));
  for (const entry of entries.reverse()) {
    if (entry === '') continue;
    if (isIP(entry) === 0) break;
    client = entry;
    if (!isTrustedProxy(trust, entry)) break;
  }
  return client;
}

const first = (value: string | undefined) => value?.split(',')[0]?.trim();

/** A host name or address with an optional port, and nothing else (no path, user or spaces). */
const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

function originOf(protocol: string, host: string): string | undefined {
  if (!HOST.test(host)) return undefined;
  try {
    return new URL(`${protocol}://${host}`).origin;
  } catch {
    return undefined; // a port out of range, an address that is not one
  }
}

export interface RequestSource {
  /** The client's address, for per-address limits and logs. */
  address: string;
  /** The origin the browser sees (the dashboard's behind its proxy), for the cookie-write origin check. */
  origin: string;
  protocol: 'http' | 'https';
}

/**
 * Where a request comes from: the peer and this request's own URL, unless a trusted hop (the web with
 * its secret, or a peer in GATEWAY_TRUSTED_PROXIES) says otherwise in X-Forwarded-*.
 */
export function requestSource(
  trust: ForwardingTrust,
  { peer, url, header }: { peer: string; url: string; header: (name: string) => string | undefined },
): RequestSource {
  const own = new URL(url);
  const address = plain(peer);
  const ownProtocol = own.protocol === 'https:' ? 'https' : 'http';
  const trusted = fromWeb(trust, header(WEB_PROXY_SECRET_HEADER)) || isTrustedProxy(trust, address);
  if (!trusted) return { address, origin: own.origin, protocol: ownProtocol };
  const sentProtocol = first(header('x-forwarded-proto'))?.toLowerCase();
  const protocol = sentProtocol === 'https' || sentProtocol === 'http' ? sentProtocol : ownProtocol;
  const host = first(header('x-forwarded-host'));
  const origin = (host ? originOf(protocol, host) : undefined) ?? own.origin;
  return { address: forwardedClient(trust, header('x-forwarded-for'), address), origin, protocol };
}
