// SSRF guard (R-SEC-4) for every outbound request the service makes on a user's behalf: webhook
// deliveries and `video_url` downloads. A URL is allowed only when every address its host names
// is public. The decision is taken before any connection, and the connection then goes to the
// address that was checked (no second DNS answer can slip in: DNS rebinding). Redirects are
// never followed. Numeric host spellings (2130706433, 0x7f.1, 017700000001) are normalised by the
// WHATWG URL parser before the check; IPv4-mapped IPv6 is checked as the IPv4 it maps.
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { DataProcessorError } from '../../contracts/index.js';

/** Ranges never reached unless allow-listed: private, loopback, link-local, CGNAT, multicast, reserved, documentation, translation. */
const BLOCKED_V4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const BLOCKED_V6: readonly [string, number][] = [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96], // NAT64 embeds an IPv4 address
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID…)
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4 embeds an IPv4 address
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const BLOCKED = new BlockList();
for (const [net, prefix] of BLOCKED_V4) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of BLOCKED_V6) BLOCKED.addSubnet(net, prefix, 'ipv6');

/** `::ffff:a.b.c.d` / `::ffff:7f00:1` → `a.b.c.d`; anything else unchanged. */
export function unmapIpv4(address: string): string {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1]) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] && hex[2]) {
    const high = parseInt(hex[1], 16);
    const low = parseInt(hex[2], 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return address;
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

export interface SsrfGuardOptions {
  /**
   * Addresses or CIDRs (`127.0.0.1`, `10.1.0.0/16`, `::1`) reached even though they are not
   * public: for tests and internal receivers, explicit by design. @defaultValue []
   */
  allow?: readonly string[];
  /** Name resolution (all addresses of a host); tests pass a stub. @defaultValue dns.lookup(all) */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

/** A URL that passed the guard, with the address to connect to. */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export class SsrfGuard {
  readonly #allow = new BlockList();
  readonly #resolve: NonNullable<SsrfGuardOptions['resolve']>;

  constructor(options: SsrfGuardOptions = {}) {
    for (const entry of options.allow ?? []) {
      const [net = '', prefix] = entry.split('/');
      const host = unmapIpv4(net.replace(/^\[|\]$/g, ''));
      const family = isIP(host);
      if (family === 0)
        throw new DataProcessorError('INPUT_INVALID', `allow-list entry ${entry} is not an address`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.#allow.addAddress(host, type);
      else this.#allow.addSubnet(host, Number(prefix), type);
    }
    this.#resolve = options.resolve ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
  }

  /** The decision for one address, without any I/O. */
  checkAddress(address: string): AddressVerdict {
    const plain = unmapIpv4(address.replace(/^\[|\]$/g, ''));
    const family = isIP(plain);
    if (family === 0) return { allowed: false, reason: 'not an IP address' };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.#allow.check(plain, type)) return { allowed: true };
    if (BLOCKED.check(plain, type))
      return { allowed: false, reason: 'a private, loopback, link-local or reserved address' };
    return { allowed: true };
  }

  /**
   * Parses and checks a URL: http(s) only, no credentials, and every address of its host allowed.
   * INPUT_INVALID names the problem; nothing is connected to.
   */
  async check(rawUrl: string): Promise<CheckedTarget> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new DataProcessorError('INPUT_INVALID', 'the URL is not valid');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new DataProcessorError(
        'INPUT_INVALID',
        `URL scheme ${url.protocol} is not allowed (http or https only)`,
      );
    if (url.username || url.password)
      throw new DataProcessorError('INPUT_INVALID', 'URLs with credentials are not allowed');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const literal = isIP(host);
    const addresses = literal !== 0 ? [{ address: host, family: literal }] : await this.#resolveHost(host);
    if (addresses.length === 0) throw new DataProcessorError('INPUT_INVALID', `host ${host} has no address`);
    for (const { address } of addresses) {
      const verdict = this.checkAddress(address);
      if (!verdict.allowed)
        throw new DataProcessorError(
          'INPUT_INVALID',
          `the URL's host resolves to ${verdict.reason}; refused`,
          {
            details: { reason: 'ssrf' },
          },
        );
    }
    const first = addresses[0] as { address: string; family: number };
    const address = unmapIpv4(first.address);
    return { url, address, family: isIP(address) === 6 ? 6 : 4 };
  }

  async #resolveHost(host: string): Promise<{ address: string; family: number }[]> {
    try {
      return await this.#resolve(host);
    } catch {
      throw new DataProcessorError('INPUT_INVALID', `host ${host} cannot be resolved`);
    }
  }
}
