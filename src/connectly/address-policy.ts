import { BlockList, isIP } from 'node:net';

/**
 * Address ranges a download may never connect to unless private addresses are allowed:
 * loopback, private, carrier-grade NAT, link-local (cloud metadata), unique-local, multicast and reserved.
 */
const BLOCKED_V4: Array<[string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
];
const BLOCKED_V6: Array<[string, number]> = [
  ['::', 96],
  ['::1', 128],
  ['2002::', 16],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['::ffff:0:0:0', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const blocked = new BlockList();
for (const [network, prefix] of BLOCKED_V4) blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of BLOCKED_V6) blocked.addSubnet(network, prefix, 'ipv6');

/** True when a literal IPv4 or IPv6 address (IPv4-mapped forms included) is in a blocked range. */
export function isBlockedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return isBlockedAddress(mapped[1]);

  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) return blocked.check(address, 'ipv6') || isMappedHex(address);
  return true;
}

function isMappedHex(address: string): boolean {
  const match = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (match === null) return false;

  const value = (parseInt(match[1], 16) << 16) | parseInt(match[2], 16);
  const v4 = [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
  return isBlockedAddress(v4);
}

/**
 * True when a host and port match one of the patterns: an exact name or `*.suffix` for any sub-domain, with an
 * optional `:port`. A pattern without a port allows only 443, so an allowed host cannot be used to reach its
 * other services.
 */
export function isAllowedHost(host: string, port: string, patterns: string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');

  return patterns.some((entry) => {
    const [pattern, allowedPort = '443'] = entry.split(':');
    if (port !== allowedPort) return false;
    if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
    return name === pattern;
  });
}
