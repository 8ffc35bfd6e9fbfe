import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * The address classes the egress policy refuses unless allow-listed: everything in the IANA
 * special-purpose registries that is not globally reachable, plus multicast. Each class is a rule
 * name an error message can show ("loopback addresses are refused…").
 */
export type EgressRule =
  | "loopback"
  | "private"
  | "link-local"
  | "carrier-grade NAT"
  | "multicast"
  | "unspecified"
  | "broadcast"
  | "documentation"
  | "benchmarking"
  | "reserved";

/** Most specific first: `255.255.255.255` is broadcast before it is reserved, `::1` loopback before `::/96`. */
const RANGES: ReadonlyArray<readonly [EgressRule, string, number]> = [
  // IPv4
  ["unspecified", "0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ["private", "10.0.0.0", 8],
  ["carrier-grade NAT", "100.64.0.0", 10],
  ["loopback", "127.0.0.0", 8],
  ["link-local", "169.254.0.0", 16], // includes the cloud metadata service 169.254.169.254
  ["private", "172.16.0.0", 12],
  ["reserved", "192.0.0.0", 24], // IETF protocol assignments
  ["documentation", "192.0.2.0", 24],
  ["reserved", "192.88.99.0", 24], // deprecated 6to4 relay anycast
  ["private", "192.168.0.0", 16],
  ["benchmarking", "198.18.0.0", 15],
  ["documentation", "198.51.100.0", 24],
  ["documentation", "203.0.113.0", 24],
  ["multicast", "224.0.0.0", 4],
  ["broadcast", "255.255.255.255", 32],
  ["reserved", "240.0.0.0", 4],
  // IPv6 (IPv4-mapped, NAT64 and 6to4 forms are unwrapped and judged as the IPv4 address they carry)
  ["unspecified", "::", 128],
  ["loopback", "::1", 128],
  ["reserved", "::", 96], // deprecated IPv4-compatible addresses
  ["reserved", "::ffff:0:0:0", 96], // SIIT IPv4-translated
  ["reserved", "100::", 64], // discard-only
  ["private", "64:ff9b:1::", 48], // local-use NAT64
  ["reserved", "2001::", 23], // IETF protocol assignments (Teredo, ORCHID, …)
  ["documentation", "2001:db8::", 32],
  ["documentation", "3fff::", 20],
  ["private", "fc00::", 7], // unique local
  ["link-local", "fe80::", 10],
  ["private", "fec0::", 10], // deprecated site-local
  ["multicast", "ff00::", 8],
];

const family = (network: string) => (isIPv4(network) ? "ipv4" : "ipv6");

const RULES: ReadonlyArray<readonly [EgressRule, BlockList]> = RANGES.map(([rule, network, prefix]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family(network));
  return [rule, list] as const;
});

/** Every refused range in one list: a public address (the usual case) costs one check, not one per rule. */
const ANY_REFUSED = new BlockList();
for (const [, network, prefix] of RANGES) ANY_REFUSED.addSubnet(network, prefix, family(network));

/** The 16 bytes of an IPv6 address (zone id dropped), or undefined when it is not one. */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  const address = text.split("%")[0] ?? "";
  if (!isIPv6(address)) return undefined;
  let groups = address;
  const tail: number[] = [];
  const lastColon = address.lastIndexOf(":");
  const last = address.slice(lastColon + 1);
  if (last.includes(".")) {
    // A trailing dotted quad (`::ffff:1.2.3.4`) is the last two words.
    const [a = 0, b = 0, c = 0, d = 0] = last.split(".").map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    groups = address.slice(0, lastColon + 1);
    if (!groups.endsWith("::")) groups = groups.slice(0, -1);
  }
  const [left = "", right] = groups.split("::");
  const words = (part: string) => (part === "" ? [] : part.split(":").map((w) => Number.parseInt(w, 16)));
  const l = words(left);
  const r = right === undefined ? [] : words(right);
  const zeros = right === undefined ? 0 : 8 - tail.length - l.length - r.length;
  const all = [...l, ...new Array<number>(zeros).fill(0), ...r, ...tail];
  if (all.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

function quad(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const NAT64 = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * The address a connection to `address` really reaches when it carries an IPv4 address: IPv4-mapped
 * (`::ffff:127.0.0.1`), the NAT64 well-known prefix (`64:ff9b::7f00:1`) and 6to4 (`2002:7f00:1::`)
 * are judged as that IPv4 address, so no IPv6 spelling of a refused IPv4 address gets through.
 * IPv4 and other IPv6 addresses come back as they are.
 */
export function effectiveAddress(address: string): { address: string; family: "ipv4" | "ipv6" } {
  if (isIPv4(address)) return { address, family: "ipv4" };
  const bytes = ipv6Bytes(address);
  if (!bytes) return { address, family: "ipv6" };
  if (startsWith(bytes, MAPPED) || startsWith(bytes, NAT64))
    return { address: quad(bytes, 12), family: "ipv4" };
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return { address: quad(bytes, 2), family: "ipv4" };
  return { address: address.split("%")[0] ?? address, family: "ipv6" };
}

/** Which rule refuses this IP address by default, or undefined for a globally reachable unicast address. */
export function refusedRule(address: string): EgressRule | undefined {
  const target = effectiveAddress(address);
  if (!ANY_REFUSED.check(target.address, target.family)) return undefined;
  for (const [rule, list] of RULES) if (list.check(target.address, target.family)) return rule;
  return undefined;
}
