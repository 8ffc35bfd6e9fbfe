import { isIPv6 } from "node:net";
import { LruMap } from "../cache/lru.js";

export interface FailureLimiterOptions {
  /** Failures an address may have in a row before it must wait. */
  burst: number;
  /** How many failures per minute the allowance regains. */
  refillPerMinute: number;
  /** Addresses remembered at once (least recently seen go first). */
  maxAddresses: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client address that only failures draw from: an address may fail `burst`
 * times, then once per refill interval. Refill is computed when the address is next seen, so an
 * idle address costs nothing and no timer runs. Written here (a dozen lines) rather than taken from
 * a rate-limit package: those count every request, and this must count only failed ones.
 */
export class FailureLimiter {
  private readonly buckets: LruMap<string, Bucket>;
  private readonly perMs: number;
  private readonly now: () => number;

  constructor(private readonly options: FailureLimiterOptions) {
    this.buckets = new LruMap(options.maxAddresses);
    this.perMs = options.refillPerMinute / 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Addresses with fewer than `burst` failures left (the others need no entry). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(address: string, now: number): Bucket | undefined {
    const bucket = this.buckets.get(address);
    if (!bucket) return undefined;
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (bucket.tokens >= this.options.burst) {
      this.buckets.delete(address);
      return undefined;
    }
    return bucket;
  }

  /** Seconds until `address` may fail again; 0 when it may now. */
  retryAfterSeconds(address: string): number {
    const bucket = this.refill(address, this.now());
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  /** Record one failure of `address`. */
  fail(address: string): void {
    const now = this.now();
    const bucket = this.refill(address, now) ?? { tokens: this.options.burst, at: now };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.buckets.set(address, bucket);
  }
}

/**
 * The key a client is limited by: its IPv4 address, or the /64 network of an IPv6 address (one
 * host is commonly given a whole /64, so single IPv6 addresses cost an attacker nothing).
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head = "", tail = ""] = ip.toLowerCase().split("%")[0]?.split("::") ?? [];
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  // An embedded IPv4 tail (`::1.2.3.4`) sits in the low 64 bits, so it never reaches the prefix.
  const missing = 8 - left.length - right.length - (right.at(-1)?.includes(".") ? 1 : 0);
  const groups = ip.includes("::")
    ? [...left, ...Array<string>(Math.max(0, missing)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}
