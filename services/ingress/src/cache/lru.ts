/**
 * A least-recently-used map bounded by total weight (1 per entry unless told): a `Map` keeps
 * insertion order, so a hit re-inserts and the first key is the one to evict. Written here rather
 * than taken from `lru-cache`: every cache in ingress needs exactly this and event-driven removal,
 * and a dozen lines over `Map` keep the hot path free of anything it does not use.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;
  /** The most recently used key: a hit on it needs no re-insertion (the hot path's usual case). */
  private newest: K | undefined;

  constructor(private readonly maxWeight: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The summed weight of the entries. */
  get weight(): number {
    return this.total;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.newest = key;
    }
    return entry.value;
  }

  /** The value, without touching its place in the order. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** Store, then evict the least recently used until the weight fits (an entry heavier than the bound is not kept). */
  set(key: K, value: V, weight = 1): void {
    this.delete(key);
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.newest = key;
    this.total += weight;
    while (this.total > this.maxWeight) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.total -= entry.weight;
    if (key === this.newest) this.newest = undefined;
    return true;
  }

  /** Remove every entry `predicate` matches. */
  deleteWhere(predicate: (value: V, key: K) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (predicate(entry.value, key)) this.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
    this.newest = undefined;
  }
}
