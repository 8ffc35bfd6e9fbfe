import type { Caller } from "./caller.js";

type Entry =
  | { kind: "positive"; caller: Caller; expiresAt: number }
  | { kind: "negative"; expiresAt: number };

/**
 * Validation answers by key hash. Positive entries live as long as auth allowed (never past the
 * key's expiry); negative entries remember unknown keys briefly so a flood of junk keys does not
 * become a flood of auth requests. Bounded: the least recently used entry goes first (a Map keeps
 * insertion order; a hit re-inserts).
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 10_000) {}

  get size(): number {
    return this.entries.size;
  }

  get(keyHash: string, now: number): Entry | undefined {
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    this.entries.delete(keyHash);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(keyHash, entry);
    return entry;
  }

  setPositive(keyHash: string, caller: Caller, ttlMs: number, now: number): void {
    if (ttlMs > 0) this.put(keyHash, { kind: "positive", caller, expiresAt: now + ttlMs });
  }

  setNegative(keyHash: string, ttlMs: number, now: number): void {
    if (ttlMs > 0) this.put(keyHash, { kind: "negative", expiresAt: now + ttlMs });
  }

  /** Drop every positive entry matching `predicate`. */
  dropPositives(predicate: (caller: Caller, keyHash: string) => boolean): void {
    for (const [hash, entry] of this.entries) {
      if (entry.kind === "positive" && predicate(entry.caller, hash)) this.entries.delete(hash);
    }
  }

  clearPositives(): void {
    this.dropPositives(() => true);
  }

  private put(keyHash: string, entry: Entry): void {
    this.entries.delete(keyHash);
    this.entries.set(keyHash, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}
