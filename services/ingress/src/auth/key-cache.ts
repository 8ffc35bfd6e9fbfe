import { LruMap } from "../cache/lru.js";
import type { Caller } from "./caller.js";

type Entry =
  | { kind: "positive"; caller: Caller; expiresAt: number }
  | { kind: "negative"; expiresAt: number };

/** How long a key seen valid is still believed real enough to be validated from a throttled address. */
const KNOWN_VALID_MS = 24 * 60 * 60 * 1000;

export interface KeyCacheBounds {
  /** Valid keys kept (and, as many again, keys remembered as once valid). */
  maxKeys: number;
  /** Unknown keys remembered. */
  maxUnknown: number;
}

/**
 * Validation answers by key hash, in separate bounded LRU maps so that a flood of made-up keys can
 * evict only other made-up keys:
 * - positives live as long as auth allowed (never past the key's expiry);
 * - negatives remember unknown keys briefly, so a repeated junk key does not become repeated auth
 *   requests;
 * - "known valid" remembers keys auth once called valid (until they expire, or an event says they
 *   were revoked). It never authenticates anything: it only tells the failed-authentication limiter
 *   that a key is worth asking auth about even from an address that is being throttled.
 */
export class KeyCache {
  private readonly positives: LruMap<string, Entry & { kind: "positive" }>;
  private readonly negatives: LruMap<string, Entry & { kind: "negative" }>;
  private readonly knownValid: LruMap<string, { caller: Caller; until: number }>;

  constructor(bounds: KeyCacheBounds = { maxKeys: 10_000, maxUnknown: 10_000 }) {
    this.positives = new LruMap(bounds.maxKeys);
    this.negatives = new LruMap(bounds.maxUnknown);
    this.knownValid = new LruMap(bounds.maxKeys);
  }

  get size(): number {
    return this.positives.size + this.negatives.size;
  }

  get(keyHash: string, now: number): Entry | undefined {
    const entry = this.positives.get(keyHash) ?? this.negatives.get(keyHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      (entry.kind === "positive" ? this.positives : this.negatives).delete(keyHash);
      return undefined;
    }
    return entry;
  }

  setPositive(keyHash: string, caller: Caller, ttlMs: number, now: number, keyExpiresAt?: number): void {
    this.negatives.delete(keyHash);
    this.knownValid.set(keyHash, { caller, until: Math.min(keyExpiresAt ?? Infinity, now + KNOWN_VALID_MS) });
    if (ttlMs > 0) this.positives.set(keyHash, { kind: "positive", caller, expiresAt: now + ttlMs });
  }

  setNegative(keyHash: string, ttlMs: number, now: number): void {
    this.positives.delete(keyHash);
    if (ttlMs > 0) this.negatives.set(keyHash, { kind: "negative", expiresAt: now + ttlMs });
  }

  /** Did auth call this key valid before (and has nothing said since that it no longer is)? */
  knownValidKey(keyHash: string, now: number): boolean {
    const known = this.knownValid.peek(keyHash);
    return known !== undefined && known.until > now;
  }

  /** Drop every positive (and known-valid) entry matching `predicate`: an event removed access. */
  dropPositives(predicate: (caller: Caller, keyHash: string) => boolean): void {
    this.positives.deleteWhere((entry, hash) => predicate(entry.caller, hash));
    this.knownValid.deleteWhere((known, hash) => predicate(known.caller, hash));
  }

  /**
   * Forget every positive (the feed reset: events may have been missed). Known-valid entries stay:
   * they grant nothing, and a reconnect must not make every real key look made up.
   */
  clearPositives(): void {
    this.positives.clear();
  }
}
