import { decodeJson, encodeJson, inboxPrefixOf } from "@gatehouse/bus";
import {
  type EventSource,
  IngressPresence,
  ingressPresenceSubject,
  ingressSyncSubject,
  type Propagation,
  type SyncRequest,
  SyncResponse,
  syncInboxPrefix,
} from "@gatehouse/contracts";
import { createInbox, type NatsConnection, type Subscription } from "nats";

/**
 * Tracks which ingress replicas are alive from their presence announcements, and asks all of them
 * to confirm they applied an access event. A revoking call waits on `confirm` before it returns.
 */
export class IngressRoster {
  private readonly seen = new Map<string, number>();
  private readonly sub: Subscription;
  private readonly createdAt = Date.now();

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    /** A replica unheard for this long is not waited for (it has stopped trusting its cache by then). */
    private readonly leaseMs: number,
    /** How often replicas announce themselves; until two periods have passed the roster may be incomplete. */
    private readonly presenceIntervalMs = 500,
  ) {
    this.sub = nc.subscribe(ingressPresenceSubject(prefix), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = IngressPresence.safeParse(safeJson(msg.data));
        if (parsed.success) this.seen.set(parsed.data.replica, Date.now());
      },
    });
  }

  live(): string[] {
    const cutoff = Date.now() - this.leaseMs;
    const out: string[] = [];
    for (const [replica, at] of this.seen) {
      if (at >= cutoff) out.push(replica);
      else this.seen.delete(replica);
    }
    return out;
  }

  /**
   * Ask every live replica to confirm it applied `sequence` of `source`. A replica answers once it
   * has, or once it stopped trusting its cached positives until it does — at once when the event is
   * not `published` to the stream. Resolve when every live replica answered, or when the lease runs
   * out: by then a replica that could not answer no longer trusts its cache.
   */
  async confirm(source: EventSource, sequence: number, published: boolean): Promise<Propagation> {
    const started = performance.now();
    const expected = new Set(this.live());
    const answered = new Set<string>();
    const confirmed = new Set<string>();
    const request: SyncRequest = { source, sequence, published };
    // A roster that has not yet heard two presence rounds may be missing replicas: then wait the whole
    // window and count whoever answers, rather than stopping at the replicas known so far.
    const warm = Date.now() - this.createdAt >= 2 * this.presenceIntervalMs;
    if (expected.size > 0 || !warm) {
      // Not requestMany: its replies come to the connection's shared inbox, where this service's own
      // requests are answered too, and the ingress user may publish only to the sync inboxes.
      const inbox = createInbox(syncInboxPrefix(inboxPrefixOf(this.nc)));
      const maxWait = warm ? this.leaseMs : Math.min(this.leaseMs, 2 * this.presenceIntervalMs);
      let timer: NodeJS.Timeout | undefined;
      try {
        const replies = this.nc.subscribe(inbox);
        timer = setTimeout(() => replies.unsubscribe(), maxWait);
        this.nc.publish(ingressSyncSubject(this.prefix), encodeJson(request), { reply: inbox });
        for await (const reply of replies) {
          // "No responders" (a status message, no body): nobody is listening.
          if (reply.data.length === 0 && reply.headers?.code === 503) break;
          const parsed = SyncResponse.safeParse(safeJson(reply.data));
          if (!parsed.success) continue;
          if (!warm) expected.add(parsed.data.replica);
          answered.add(parsed.data.replica);
          if (parsed.data.applied) confirmed.add(parsed.data.replica);
          if (warm && [...expected].every((r) => answered.has(r))) break;
        }
        replies.unsubscribe();
      } catch {
        // A closed connection: nothing confirmed; the lease still bounds staleness.
      } finally {
        clearTimeout(timer);
      }
    }
    const complete = [...expected].every((r) => confirmed.has(r));
    return {
      sequence,
      replicas: expected.size,
      confirmed: [...expected].filter((r) => confirmed.has(r)).length,
      elapsedMs: Math.round((performance.now() - started) * 100) / 100,
      complete,
      published,
    };
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
  }
}

function safeJson(data: Uint8Array): unknown {
  try {
    return decodeJson(data);
  } catch {
    return undefined;
  }
}
