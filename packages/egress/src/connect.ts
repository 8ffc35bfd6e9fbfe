import { type LookupAddress, type LookupAllOptions, lookup as systemLookup } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { buildConnector } from "undici";
import type { EgressRule } from "./address.js";
import { normalizeHost } from "./allowlist.js";
import type { EgressPolicy } from "./policy.js";

/** The `code` of a refused connection, so callers can map it without importing this class. */
export const EGRESS_REFUSED = "ERR_GATEHOUSE_EGRESS_REFUSED";

/**
 * A connection the policy refused. Its message names the host and the address (for logs, where
 * the operator needs them); callers show their own public message instead.
 */
export class EgressRefusedError extends Error {
  readonly code = EGRESS_REFUSED;

  constructor(
    readonly rule: EgressRule,
    host: string,
    address: string,
  ) {
    super(`egress policy refused ${host} (${address}): ${rule} address`);
    this.name = "EgressRefusedError";
  }
}

export function isEgressRefused(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === EGRESS_REFUSED;
}

/** `dns.lookup` with `all: true`; replaceable in tests, where no DNS server can be made to rebind. */
export type Resolve = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * An undici connector that applies the policy to the address each connection is actually made to.
 * A name is resolved by our `lookup`, which hands `net.connect` only allowed addresses, so there is
 * no window between checking an address and connecting to it (a name that rebinds to 127.0.0.1
 * after some earlier check is judged on 127.0.0.1). An IP literal never reaches `lookup` in Node,
 * so it is checked before connecting.
 */
export function egressConnector(
  policy: EgressPolicy,
  options: buildConnector.BuildOptions = {},
  resolve: Resolve = systemLookup,
): buildConnector.connector {
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return callback(err, "");
      const byName = policy.allowsHost(hostname);
      const allowed = byName ? addresses : addresses.filter((a) => !policy.checkAddress(a.address));
      const first = allowed[0];
      if (!first) {
        const refused = addresses[0];
        const rule = refused ? policy.checkAddress(refused.address)?.rule : undefined;
        return callback(
          new EgressRefusedError(rule ?? "reserved", hostname, refused?.address ?? "no address"),
          "",
        );
      }
      if (lookupOptions.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };
  const connect = buildConnector({ ...options, lookup } as buildConnector.BuildOptions);
  return (connectOptions, callback) => {
    const host = normalizeHost(connectOptions.hostname);
    if (isIP(host) !== 0) {
      const refusal = policy.checkAddress(host);
      if (refusal) {
        process.nextTick(callback, new EgressRefusedError(refusal.rule, host, host), null);
        return;
      }
    }
    connect(connectOptions, callback);
  };
}
