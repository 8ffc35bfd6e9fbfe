import { BlockList, isIP, isIPv4, isIPv6 } from "node:net";
import { domainToASCII } from "node:url";
import { z } from "zod";
import { effectiveAddress } from "./address.js";

/** What an operator allows beyond the default policy (`GATEHOUSE_EGRESS_ALLOW`), parsed. */
export interface EgressAllowlist {
  /** CIDR ranges; a bare address is a /32 or /128. */
  readonly networks: ReadonlyArray<{ readonly address: string; readonly prefix: number }>;
  /** Host names allowed whatever they resolve to, lowercase, without a trailing dot. */
  readonly hosts: readonly string[];
  /** From `*.example.internal`: every name that ends in `.example.internal` (not the name itself). */
  readonly suffixes: readonly string[];
}

export const EMPTY_ALLOWLIST: EgressAllowlist = { networks: [], hosts: [], suffixes: [] };

/** A URL's host as the policy compares it: lowercase, no IPv6 brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}

function parseNetwork(entry: string): { address: string; prefix: number } {
  const [address = "", prefixText] = entry.split("/");
  const family = isIP(address);
  if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR range`);
  const max = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) {
    throw new Error(`"${entry}": the prefix length must be a number from 0 to ${max}`);
  }
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw new Error(`"${entry}": the prefix length must be a number from 0 to ${max}`);
  // Connections to IPv4-mapped addresses are judged as the IPv4 address, so a mapped range would
  // never match anything: say so instead of accepting an entry that does nothing.
  if (family === 6 && effectiveAddress(address).family === "ipv4") {
    throw new Error(`"${entry}": write IPv4 ranges in IPv4 notation`);
  }
  return { address, prefix };
}

function parseName(entry: string): string {
  if (/[/:@?#\s\\]/.test(entry)) throw new Error(`"${entry}" is not a host name (no scheme, port or path)`);
  // The WHATWG URL parser is what turns a base URL into the host a connection uses; normalising
  // entries the same way (case, IDNA) makes them compare equal to what URLs produce.
  const ascii = domainToASCII(entry.replace(/\.$/, ""));
  if (ascii === "" || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii)) {
    throw new Error(`"${entry}" is not a host name, an IP address or a CIDR range`);
  }
  const host = normalizeHost(new URL(`http://${ascii}/`).hostname);
  if (isIP(host) !== 0) throw new Error(`"${entry}" reads as the IP address ${host}: write it as an address`);
  return host;
}

/**
 * Parses a comma-separated allowlist: CIDR ranges (`10.0.0.0/8`, `fd00::/8`), single addresses
 * (`192.168.1.20`), host names (`ollama.internal`) and subdomain wildcards (`*.svc.cluster.local`).
 * Throws an Error naming the first bad entry (entries are not secrets).
 */
export function parseEgressAllowlist(text: string): EgressAllowlist {
  const networks: Array<{ address: string; prefix: number }> = [];
  const hosts: string[] = [];
  const suffixes: string[] = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const bare = entry.replace(/^\[(.*)\]$/, "$1");
    if ((entry.includes("/") && !entry.includes("://")) || isIP(bare) !== 0)
      networks.push(parseNetwork(bare));
    else if (entry.startsWith("*.")) suffixes.push(`.${parseName(entry.slice(2))}`);
    else hosts.push(parseName(entry));
  }
  return { networks, hosts, suffixes };
}

/** The zod shape of `GATEHOUSE_EGRESS_ALLOW`, so every service reads it the same way. */
export function egressAllowEnv() {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      try {
        return parseEgressAllowlist(text ?? "");
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    });
}

/** The allowlist as lookups: by name, and by (effective) address. */
export class AllowlistMatcher {
  private readonly ranges = new BlockList();
  private readonly hosts: ReadonlySet<string>;

  constructor(
    private readonly allow: EgressAllowlist,
    extraNetworks: ReadonlyArray<{ address: string; prefix: number }> = [],
  ) {
    for (const { address, prefix } of [...allow.networks, ...extraNetworks]) {
      this.ranges.addSubnet(address, prefix, isIPv4(address) ? "ipv4" : "ipv6");
    }
    this.hosts = new Set(allow.hosts);
  }

  allowsHost(host: string): boolean {
    const name = normalizeHost(host);
    return this.hosts.has(name) || this.allow.suffixes.some((suffix) => name.endsWith(suffix));
  }

  allowsAddress(address: string): boolean {
    const target = effectiveAddress(address);
    if (!isIPv4(target.address) && !isIPv6(target.address)) return false;
    return this.ranges.check(target.address, target.family);
  }
}
