import type { RouteStrategy } from "@gatehouse/contracts";

interface State {
  /** Failures in a row (reset by a success). */
  failures: number;
  /** While in the future, the target is skipped; once past, one call probes it. */
  openUntil: number;
  /** A probe is on its way: other calls keep skipping until it answers. */
  probing: boolean;
}

/** How a call may use a target now. */
export type Admission = "closed" | "probe" | "open";

/**
 * Target health as one dispatch replica sees it: a circuit breaker per route and target (each route
 * has its own threshold and cooldown, and which failures count) and the calls in flight to each
 * target (`<account>/<model>`, counted over every route that uses it). A target that failed
 * `threshold` times in a row is skipped for the cooldown (or the provider's Retry-After, if longer);
 * then one call probes it: a success closes the breaker, a failure opens it for another cooldown.
 * Each replica learns on its own (no shared state, nothing on the hot path but a map lookup).
 */
export class TargetHealth {
  private readonly states = new Map<string, State>();
  private readonly busy = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    /**
     * Breakers with failures held at most (the oldest go first, as if they had closed): routes come
     * and go, and a deleted route's breakers are forgotten only by the replicas its event reached.
     */
    private readonly maxStates = 10_000,
  ) {}

  private state(id: string): State {
    let s = this.states.get(id);
    if (!s) {
      if (this.states.size >= this.maxStates) {
        const oldest = this.states.keys().next().value;
        if (oldest !== undefined) this.states.delete(oldest);
      }
      s = { failures: 0, openUntil: 0, probing: false };
      this.states.set(id, s);
    }
    return s;
  }

  /** Forgets route `name`'s breakers (it was deleted: a route made later under its name starts closed). */
  forgetRoute(name: string): void {
    const prefix = breakerKey(name, "");
    for (const id of this.states.keys()) if (id.startsWith(prefix)) this.states.delete(id);
  }

  /** Breakers with failures held (tests). */
  breakers(): number {
    return this.states.size;
  }

  /** Whether a call may go to breaker `id` now; `probe` claims the one probe of a cooled-down target. */
  admit(id: string): Admission {
    const s = this.states.get(id);
    if (!s || s.openUntil === 0) return "closed";
    if (s.probing || s.openUntil > this.now()) return "open";
    s.probing = true;
    return "probe";
  }

  /**
   * Every target of a call's route is open, and the call would try this one anyway (rather than
   * refuse on the breakers' word alone): it may, as the target's one probe — false while another
   * call probes it, so concurrent calls on a dead route do not all try it at once.
   */
  claimProbe(id: string): boolean {
    const s = this.states.get(id);
    if (!s) return true; // closed since it was skipped
    if (s.probing) return false;
    s.probing = true;
    return true;
  }

  succeeded(id: string): void {
    // No state is a closed breaker with no failures: a healthy target stores nothing (the hot path
    // only reads the map), and a recovered one is forgotten.
    this.states.delete(id);
  }

  failed(id: string, threshold: number, cooldownMs: number, retryAfterMs?: number): void {
    const s = this.state(id);
    s.failures++;
    const wasProbe = s.probing;
    s.probing = false;
    // A Retry-After opens it at once only when it asks for the cooldown or longer: many providers
    // send one (of a second or less) with every 429.
    if (wasProbe || s.failures >= threshold || (retryAfterMs !== undefined && retryAfterMs >= cooldownMs)) {
      s.openUntil = this.now() + Math.max(cooldownMs, Math.min(retryAfterMs ?? 0, 3_600_000));
    }
  }

  /** A probe that ended without saying anything about the target (the caller left): let another probe. */
  released(id: string): void {
    const s = this.states.get(id);
    if (s) s.probing = false;
  }

  /** A call to target `id` started (least-busy counts them). */
  enter(id: string): void {
    this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
  }

  leave(id: string): void {
    const n = (this.busy.get(id) ?? 0) - 1;
    if (n > 0) this.busy.set(id, n);
    else this.busy.delete(id);
  }

  /** Calls on their way to target `id` from this replica. */
  inflight(id: string): number {
    return this.busy.get(id) ?? 0;
  }

  /**
   * Targets in the order a call tries them under `strategy`. The listed order (priority, or a
   * single target) is `targets` itself, not a copy: the hot path of a one-target route allocates
   * nothing here.
   */
  order<T extends { id: string; weight: number }>(
    strategy: RouteStrategy,
    targets: readonly T[],
    random: () => number = Math.random,
  ): readonly T[] {
    if (targets.length < 2) return targets;
    switch (strategy) {
      case "priority":
        return targets;
      case "weighted":
        return weightedOrder(targets, random);
      case "least-busy": {
        // Ties (an idle route) are broken at random, so idle targets share the load too.
        const keyed = targets.map((t) => ({ t, busy: this.inflight(t.id), tie: random() }));
        keyed.sort((a, b) => a.busy - b.busy || a.tie - b.tie);
        return keyed.map((k) => k.t);
      }
    }
  }
}

/** A random order where each target comes first with probability weight / total (then the same among the rest). */
export function weightedOrder<T extends { weight: number }>(
  targets: readonly T[],
  random: () => number,
): T[] {
  const left = [...targets];
  const out: T[] = [];
  let total = left.reduce((sum, t) => sum + t.weight, 0);
  while (left.length > 0) {
    let pick = random() * total;
    let i = 0;
    for (; i < left.length - 1; i++) {
      pick -= (left[i] as T).weight;
      if (pick < 0) break;
    }
    const [chosen] = left.splice(i, 1);
    if (!chosen) break;
    out.push(chosen);
    total -= chosen.weight;
  }
  return out;
}

/** The breaker of one target within one route. */
export function breakerKey(route: string, target: string): string {
  return `${route}\u0000${target}`;
}
