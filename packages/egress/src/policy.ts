import { isIP } from "node:net";
import { type EgressRule, refusedRule } from "./address.js";
import { AllowlistMatcher, type EgressAllowlist, normalizeHost } from "./allowlist.js";

export interface EgressPolicyOptions {
  /** `GATEHOUSE_EGRESS_ALLOW`, parsed. */
  readonly allow: EgressAllowlist;
  /** Local mode (`pnpm start`): loopback is allowed too, so a local Ollama or mock upstream works. */
  readonly allowLoopback: boolean;
}

/** Why a destination is refused; `message` names the rule and the way out, never an address. */
export interface EgressRefusal {
  readonly rule: EgressRule;
  readonly message: string;
}

const LOOPBACK = [
  { address: "127.0.0.0", prefix: 8 },
  { address: "::1", prefix: 128 },
];

function refusal(rule: EgressRule): EgressRefusal {
  return {
    rule,
    message: `${rule} addresses are refused by the egress policy; allow them with GATEHOUSE_EGRESS_ALLOW`,
  };
}

/**
 * Where dispatch and auth may connect: every address except the special-purpose ranges of
 * `address.ts`, plus what the allowlist names. `checkUrl` is the cheap check an admin API makes
 * without DNS; the binding check is `checkAddress` on every address a connection resolves to
 * (`egressConnector`), so a name that resolves — or rebinds — to a refused address is refused too.
 */
export class EgressPolicy {
  private readonly allowed: AllowlistMatcher;

  constructor(readonly options: EgressPolicyOptions) {
    this.allowed = new AllowlistMatcher(options.allow, options.allowLoopback ? LOOPBACK : []);
  }

  /** A connection to this IP address is refused unless this answers undefined. */
  checkAddress(address: string): EgressRefusal | undefined {
    const rule = refusedRule(address);
    if (rule === undefined || this.allowed.allowsAddress(address)) return undefined;
    return refusal(rule);
  }

  /** The operator named this host: whatever it resolves to is allowed. */
  allowsHost(host: string): boolean {
    return this.allowed.allowsHost(host);
  }

  /**
   * The URL refused on its face: an IP literal in a refused range (in any spelling the URL parser
   * normalises, `http://2130706433/` and `http://0x7f.1/` included) or a `localhost` name. Other
   * names pass here and are judged by what they resolve to at connect time. Not a URL: undefined
   * (syntax is the caller's check).
   */
  checkUrl(url: string): EgressRefusal | undefined {
    let host: string;
    try {
      host = normalizeHost(new URL(url).hostname);
    } catch {
      return undefined;
    }
    if (host === "" || this.allowsHost(host)) return undefined;
    if (isIP(host) !== 0) return this.checkAddress(host);
    // RFC 6761: `localhost` and its subdomains are loopback, whatever DNS says.
    if (host === "localhost" || host.endsWith(".localhost")) {
      const v4 = this.checkAddress("127.0.0.1");
      return v4 && this.checkAddress("::1") ? v4 : undefined;
    }
    return undefined;
  }

  /** One line for the start-up log: what is allowed beyond the default. */
  describe(): { allowLoopback: boolean; networks: string[]; hosts: string[] } {
    const { allow, allowLoopback } = this.options;
    return {
      allowLoopback,
      networks: allow.networks.map((n) => `${n.address}/${n.prefix}`),
      hosts: [...allow.hosts, ...allow.suffixes.map((s) => `*${s}`)],
    };
  }
}
