/**
 * Which network addresses a webhook may be sent to. A tenant names the URL and the server makes the
 * request, so without a check a tenant could make the server call what only it can reach (server-side
 * request forgery): a cloud's instance metadata service (169.254.169.254, which hands out the node's
 * credentials), the platform's own admin routes on loopback, other internal services.
 *
 * - Link-local and unspecified addresses are never called: no webhook receiver lives there, and the
 *   metadata services do.
 * - Loopback and private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, ::1) are called
 *   while `AIAAS_WEBHOOK_PRIVATE_ADDRESSES=allow` (the default: on a laptop, or a team's own network,
 *   the receiver is often local); `deny` refuses them, for servers shared by tenants who do not trust
 *   each other.
 *
 * The check is made on the address the request connects to (after DNS, in the socket's lookup), so a
 * name that resolves to a refused address is refused too, whenever it resolves so.
 */
import dns from 'node:dns';
import net from 'node:net';

export type PrivateAddresses = 'allow' | 'deny';

const NEVER = new net.BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4');
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addAddress('::', 'ipv6');

const PRIVATE = new net.BlockList();
for (const [prefix, bits] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10]] as const) PRIVATE.addSubnet(prefix, bits, 'ipv4');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

/** Why a webhook may not be sent to this IP address (undefined: it may). */
export function addressProblem(address: string, privateAddresses: PrivateAddresses): string | undefined {
  const ip = unmapped(address);
  const family = net.isIPv4(ip) ? 'ipv4' : 'ipv6';
  if (NEVER.check(ip, family)) return `${address} is a link-local or unspecified address (where cloud metadata services answer); webhooks are never sent there`;
  if (privateAddresses === 'deny' && PRIVATE.check(ip, family)) {
    return `${address} is a loopback or private address, and this server refuses those (AIAAS_WEBHOOK_PRIVATE_ADDRESSES=deny); use a receiver with a public address`;
  }
  return undefined;
}

/** ::ffff:a.b.c.d is the IPv4 address a.b.c.d: judged as such. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

/** A URL host that is an IP literal, without IPv6's brackets (undefined: a name). */
export function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return net.isIP(bare) ? bare : undefined;
}

/** A socket `lookup` that resolves as usual and fails when an address it found is refused. */
export function guardedLookup(privateAddresses: PrivateAddresses): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, found) => {
      if (err) return callback(err, '', 0);
      const refused = found.map((a) => addressProblem(a.address, privateAddresses)).find((p) => p !== undefined);
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to ${refused}`), { code: 'EADDRREFUSED' }), '', 0);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, found);
      return callback(null, found[0].address, found[0].family);
    });
  };
}
