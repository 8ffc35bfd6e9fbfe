import type { EventSource } from "@gatehouse/contracts";

/** Why a replica does not trust what it cached from one source right now. */
export type Distrust =
  /** Never heard this source's heartbeat since the replica started. */
  | "unheard"
  /** Heard nothing from it within the lease. */
  | "silent"
  /** No baseline yet: the replica does not know where the stream stands for this source. */
  | "no-baseline"
  /** The source committed events the stream does not hold (its relay cannot publish). */
  | "unpublished"
  /** Behind a published event for longer than the lease, or a revoke's confirmation gave up. */
  | "behind"
  /**
   * The source says it committed less than this replica applied: its outbox history was reset
   * (database restored or recreated). Its new events reuse sequence numbers already counted here.
   */
  | "rewound";

/** What a heartbeat told the caller to do besides recording it. */
export type HeartbeatOutcome =
  /** Recorded; nothing else to do. */
  | "ok"
  /** The source went backwards: drop every cached positive now (its new events look like old ones). */
  | "rewound"
  /** It stayed behind for the whole lease: the replica now follows its new history. Drop them again. */
  | "restarted";

interface SourceState {
  /** When the last heartbeat arrived (this replica's clock). */
  heardAt: number | undefined;
  /** Highest sequence received from the stream (or the stream's last one when the replica started). */
  applied: number | undefined;
  /** Highest sequence the source says it committed (heartbeats, revokes waiting for confirmation). */
  committed: number;
  /** Highest sequence known to be in the stream (heartbeats, confirmations, events received). */
  published: number;
  /** When `applied` first fell behind `committed`; undefined while caught up. */
  behindSince: number | undefined;
  /** A revoke's confirmation gave up waiting: refuse until this sequence is applied. */
  holdUntil: number;
  /** When heartbeats started saying the source committed less than was applied; undefined if not. */
  rewoundSince: number | undefined;
}

/**
 * Per-source bookkeeping of the access-event feed for one ingress replica, and the lease rule:
 * cached positives are trusted only while **every** source is trusted. A source is trusted when
 * its heartbeat was heard within the lease, the replica has a baseline for it, and it has applied
 * everything the source committed — or what it lacks is already in the stream and has been on its
 * way for less than the lease (the normal race between a publish and its delivery).
 *
 * `applied` moves only when an event arrives, or by `rebase`, which the caller pairs with dropping
 * every cached positive: an event the replica never received is never counted as applied.
 *
 * Pure: the caller passes the time, and does the I/O.
 */
export class FeedLedger {
  private readonly state = new Map<EventSource, SourceState>();

  constructor(
    readonly sources: readonly EventSource[],
    private readonly leaseMs: number,
  ) {
    for (const s of sources) {
      this.state.set(s, {
        heardAt: undefined,
        applied: undefined,
        committed: 0,
        published: 0,
        behindSince: undefined,
        holdUntil: 0,
        rewoundSince: undefined,
      });
    }
  }

  private of(source: EventSource): SourceState | undefined {
    return this.state.get(source);
  }

  private settle(s: SourceState, now: number): void {
    if (s.applied !== undefined && s.applied >= s.committed) s.behindSince = undefined;
    else s.behindSince ??= now;
  }

  /** The last sequence the stream held for `source` when the replica started following it (0: none). */
  baseline(source: EventSource, sequence: number, now: number): void {
    const s = this.of(source);
    if (!s || s.applied !== undefined) return;
    s.applied = sequence;
    s.published = Math.max(s.published, sequence);
    s.committed = Math.max(s.committed, sequence);
    this.settle(s, now);
  }

  /**
   * A relay's heartbeat: what its service committed, and how much of that the stream holds.
   *
   * A committed sequence below what this replica applied means one of two things: a heartbeat
   * from another replica of the source that read its outbox just before a newer event went out
   * (it is followed within one poll by a heartbeat that is not behind), or a source whose history
   * was reset — a restored or recreated database numbers its new events from where it stands, so
   * they arrive with sequences this replica counts as applied and would drop as redeliveries. The
   * replica cannot tell the two apart from one heartbeat, so it distrusts the source at once
   * ("rewound": the caller drops every cached positive) and, if the source stays behind for the
   * whole lease, follows the new history from what the stream holds of it ("restarted": the
   * caller drops them again). A revocation numbered in the new history is never taken for an old
   * one already applied: nothing cached survives the rewind, and nothing is cached while it lasts.
   */
  heartbeat(source: EventSource, committed: number, published: number, now: number): HeartbeatOutcome {
    const s = this.of(source);
    if (!s) return "ok";
    s.heardAt = now;
    if (s.applied !== undefined && committed < s.applied) {
      if (s.rewoundSince === undefined) {
        s.rewoundSince = now;
        return "rewound";
      }
      if (now - s.rewoundSince <= this.leaseMs) return "ok";
      const inStream = Math.min(published, committed);
      s.applied = inStream;
      s.committed = committed;
      s.published = inStream;
      s.holdUntil = 0;
      s.rewoundSince = undefined;
      s.behindSince = undefined;
      this.settle(s, now);
      return "restarted";
    }
    s.rewoundSince = undefined;
    s.committed = Math.max(s.committed, committed);
    s.published = Math.max(s.published, Math.min(published, committed));
    this.settle(s, now);
    return "ok";
  }

  /**
   * An event arrived from the stream. `duplicate`: already applied (a redelivery); `gap`: events
   * between the last applied and this one are missing — the caller drops every cached positive.
   */
  receive(source: EventSource, sequence: number, now: number): "applied" | "duplicate" | "gap" {
    const s = this.of(source);
    if (!s) return "duplicate";
    const last = s.applied;
    if (last !== undefined && sequence <= last) return "duplicate";
    s.applied = sequence;
    s.published = Math.max(s.published, sequence);
    s.committed = Math.max(s.committed, sequence);
    this.settle(s, now);
    return last !== undefined && sequence > last + 1 ? "gap" : "applied";
  }

  /** A revoking service committed `sequence` and waits for this replica; `published`: it is in the stream. */
  owed(source: EventSource, sequence: number, published: boolean, now: number): void {
    const s = this.of(source);
    if (!s) return;
    s.committed = Math.max(s.committed, sequence);
    if (published) s.published = Math.max(s.published, sequence);
    this.settle(s, now);
  }

  /** Refuse cached positives from every source until `source`'s `sequence` has been applied. */
  hold(source: EventSource, sequence: number): void {
    const s = this.of(source);
    if (s) s.holdUntil = Math.max(s.holdUntil, sequence);
  }

  /**
   * Count everything up to `sequence` as applied because the stream no longer holds it. Only
   * together with dropping every cached positive: whatever is cached afterwards was fetched after
   * those events committed.
   */
  rebase(source: EventSource, sequence: number, now: number): void {
    const s = this.of(source);
    if (!s) return;
    s.applied = Math.max(s.applied ?? 0, sequence);
    s.published = Math.max(s.published, sequence);
    s.committed = Math.max(s.committed, sequence);
    this.settle(s, now);
  }

  applied(source: EventSource): number | undefined {
    return this.of(source)?.applied;
  }

  /** Undefined when cached positives may be used as far as `source` is concerned. */
  distrust(source: EventSource, now: number): Distrust | undefined {
    const s = this.of(source);
    if (!s) return "unheard";
    if (s.heardAt === undefined) return "unheard";
    if (now - s.heardAt > this.leaseMs) return "silent";
    if (s.applied === undefined) return "no-baseline";
    if (s.rewoundSince !== undefined) return "rewound";
    if (s.applied >= s.committed) return undefined;
    if (s.committed > s.published) return "unpublished";
    if (s.applied < s.holdUntil) return "behind";
    if (s.behindSince !== undefined && now - s.behindSince > this.leaseMs) return "behind";
    return undefined;
  }

  trusted(now: number): boolean {
    for (const source of this.sources) if (this.distrust(source, now) !== undefined) return false;
    return true;
  }

  /**
   * Sources whose missing events the source says are in the stream but which have not arrived
   * within the lease: the stream may have lost them (age limit, purge). What the stream published
   * is returned so the caller can look and `rebase` if so.
   */
  overdue(now: number): Array<{ source: EventSource; published: number }> {
    const out: Array<{ source: EventSource; published: number }> = [];
    for (const [source, s] of this.state) {
      if (s.applied === undefined || s.applied >= s.published || s.behindSince === undefined) continue;
      if (now - s.behindSince > this.leaseMs) out.push({ source, published: s.published });
    }
    return out;
  }
}
