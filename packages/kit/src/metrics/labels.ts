/** The label value of everything a bounded label does not name one by one. */
export const OTHER = "other";
/** The label value where a label does not apply (an admin route has no model). */
export const NONE = "none";

/**
 * A label whose values come from configuration (provider accounts, models) rather than from a
 * fixed list. Only values the caller vouches for (`configured`) are kept, and at most `max` of
 * them: everything else, and everything past the cap, is `other`. So a hostile request can never
 * add a series, and a catalog of any size cannot grow a registry past a known number of series.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(readonly max: number) {}

  value(candidate: string | undefined): string {
    if (candidate === undefined || candidate.length === 0) return OTHER;
    if (this.seen.has(candidate)) return candidate;
    if (this.seen.size >= this.max || candidate === OTHER || candidate === NONE) return OTHER;
    this.seen.add(candidate);
    return candidate;
  }

  /** How many distinct values this label has taken. */
  get size(): number {
    return this.seen.size;
  }
}

/** `2xx`, `4xx`, …; anything outside 100–599 is `other`. */
const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
export function statusClass(status: number): string {
  return CLASSES[Math.floor(status / 100) - 1] ?? OTHER;
}
