import { randomUUID } from "node:crypto";
import type { BusConnection } from "@gatehouse/bus";
import { awaitStream, decodeJson, encodeJson, lastAccessEventSequence } from "@gatehouse/bus";
import {
  AccessEventEnvelope,
  accessEventStreamName,
  accessEventSubject,
  EventSource,
  FeedHeartbeat,
  heartbeatSubject,
  type IngressPresence,
  ingressPresenceSubject,
  ingressSyncSubject,
  SyncRequest,
  type SyncResponse,
} from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import { type ConsumerMessages, DeliverPolicy, type JetStreamManager, type Subscription } from "nats";
import type { AccessFeed } from "./feed.js";
import { FeedLedger } from "./ledger.js";

/** How long a replica waits for the services to create the access-event stream before giving up. */
const STREAM_WAIT_MS = 30_000;

export interface FollowerOptions {
  bus: BusConnection;
  prefix: string;
  logger: Logger;
  leaseMs: number;
  presenceIntervalMs: number;
}

export interface AccessFeedFollower extends AccessFeed {
  readonly replica: string;
  /** Last applied sequence per source (for metrics and tests). */
  applied(): Readonly<Partial<Record<EventSource, number>>>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows the access-event stream for one ingress replica.
 *
 * Trust rules (`FeedLedger`): cached positives are usable only while NATS is connected and every
 * source — auth, acl and dispatch — is trusted: heard within the lease, and caught up with what it
 * committed, or missing only events already in the stream for less than the lease. A disconnect, a
 * sequence gap or events lost from the stream drop every cached positive at once; the ordered
 * consumer then resumes from the stream where it left off.
 */
export function createAccessFeed(options: FollowerOptions): AccessFeedFollower {
  const { bus, prefix, leaseMs } = options;
  const log = options.logger.child({ component: "access-feed" });
  const replica = randomUUID();
  // Every source the contracts name, not the ones heard so far: a replica that never heard auth
  // must not trust what it cached from auth (docs/revocation.md, "The lease").
  const ledger = new FeedLedger(EventSource.options, leaseMs);
  const eventListeners = new Set<(e: AccessEventEnvelope) => void>();
  const resetListeners = new Set<() => void>();
  const syncWaiters = new Set<{ source: EventSource; sequence: number; resolve: () => void }>();
  let epoch = 0;
  let running = false;
  let messages: ConsumerMessages | undefined;
  let jsm: JetStreamManager | undefined;
  let stream = "";
  const subs: Subscription[] = [];
  let presenceTimer: NodeJS.Timeout | undefined;
  let overdueTimer: NodeJS.Timeout | undefined;
  const lastLookup: Partial<Record<EventSource, number>> = {};
  /** Per source: what was applied when its overdue events were last found in the stream, undelivered. */
  const undelivered: Partial<Record<EventSource, number | undefined>> = {};

  function reset(reason: string): void {
    epoch++;
    log.info({ reason }, "dropping cached positives");
    for (const l of resetListeners) l();
  }

  function wakeWaiters(source: EventSource): void {
    const applied = ledger.applied(source) ?? 0;
    for (const w of syncWaiters) if (w.source === source && applied >= w.sequence) w.resolve();
  }

  function apply(envelope: AccessEventEnvelope): void {
    const outcome = ledger.receive(envelope.source, envelope.sequence, Date.now());
    if (outcome === "duplicate") return;
    if (outcome === "gap") {
      log.warn({ source: envelope.source, got: envelope.sequence }, "gap in access events");
      reset("gap");
    }
    epoch++;
    for (const l of eventListeners) {
      try {
        l(envelope);
      } catch (err) {
        log.error({ err }, "access-event listener failed; dropping cached positives");
        reset("listener failure");
      }
    }
    wakeWaiters(envelope.source);
  }

  function onHeartbeat(hb: FeedHeartbeat): void {
    // A relay that predates `publishedSequence` heartbeats only once it has published everything.
    const outcome = ledger.heartbeat(
      hb.source,
      hb.committedSequence,
      hb.publishedSequence ?? hb.committedSequence,
      Date.now(),
    );
    if (outcome === "ok") return;
    log.warn(
      { source: hb.source, committed: hb.committedSequence, applied: ledger.applied(hb.source) },
      outcome === "rewound"
        ? "access-event source went backwards (history reset?)"
        : "following the access-event source's new history",
    );
    reset(outcome === "rewound" ? "source sequence went backwards" : "source history restarted");
    wakeWaiters(hb.source);
  }

  function trusted(): boolean {
    return running && bus.isConnected() && ledger.trusted(Date.now());
  }

  /**
   * Events the sources say are in the stream but that have not arrived within the lease: if the
   * stream no longer holds them (age limit, purge) they never will. Then drop every cached positive
   * and count them as applied — what is cached afterwards was fetched after they committed.
   */
  async function recoverLost(): Promise<void> {
    if (!jsm) return;
    const now = Date.now();
    for (const { source, published } of ledger.overdue(now)) {
      if (now - (lastLookup[source] ?? 0) < leaseMs) continue;
      lastLookup[source] = now;
      const held = await lastAccessEventSequence(jsm, stream, prefix, source);
      if (held >= published) {
        // In the stream: the consumer should deliver it; stay untrusted. Still not delivered a lease
        // later, with nothing applied meanwhile: the consumer is stuck — the stream was deleted and
        // made again, and its positions started over below where the consumer stands. Follow anew.
        const applied = ledger.applied(source);
        if (undelivered[source] !== applied) {
          undelivered[source] = applied;
          continue;
        }
        delete undelivered[source];
        await refollow(`${source}'s events are in the stream but are not delivered`);
        return;
      }
      delete undelivered[source];
      log.warn({ source, held, published }, "access events no longer in the stream");
      reset("events lost from the stream");
      ledger.rebase(source, published, Date.now());
      wakeWaiters(source);
    }
  }

  /**
   * Drop every cached positive and read the stream again from its current end, counting what it
   * holds as applied: whatever is cached afterwards was fetched after those events committed.
   */
  async function refollow(reason: string): Promise<void> {
    log.warn({ reason }, "following the access-event stream anew");
    reset(reason);
    const old = messages;
    messages = undefined;
    await old?.close()?.catch(() => {});
    await consume(true);
    for (const source of ledger.sources) wakeWaiters(source);
  }

  async function consume(again = false, onWait?: () => void): Promise<void> {
    jsm = await bus.nc.jetstreamManager();
    // Never created here: ingress may only read the stream (infra/nats/nats.conf).
    stream = await awaitStream(jsm, accessEventStreamName(prefix), {
      createdBy: "auth, acl and dispatch",
      timeoutMs: STREAM_WAIT_MS,
      onWait: () => {
        log.info("waiting for the access-event stream (auth, acl and dispatch create it)");
        onWait?.();
      },
      stopped: () => !running,
    });
    // Read after the stream's current end, and take each source's baseline from what the stream
    // holds for it: events this replica never receives are never counted as applied. A message
    // published between the two steps is delivered and recognised as already counted.
    const end = (await jsm.streams.info(stream)).state.last_seq;
    for (const source of ledger.sources) {
      const held = await lastAccessEventSequence(jsm, stream, prefix, source);
      if (again) ledger.rebase(source, held, Date.now());
      else ledger.baseline(source, held, Date.now());
    }
    const consumer = await bus.nc.jetstream().consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: end + 1,
    });
    const iter = await consumer.consume();
    messages = iter;
    log.info({ replica, stream, leaseMs, from: end + 1 }, "following access events");
    void (async () => {
      for await (const m of iter) {
        let parsed: ReturnType<typeof AccessEventEnvelope.safeParse>;
        try {
          parsed = AccessEventEnvelope.safeParse(m.json());
        } catch {
          continue;
        }
        if (parsed.success && m.subject === accessEventSubject(prefix, parsed.data.source))
          apply(parsed.data);
        else log.warn({ subject: m.subject }, "ignoring malformed access event");
      }
    })().catch((err: unknown) => {
      if (running) log.error({ err }, "access-event consumer stopped");
    });
  }

  /**
   * Start following: resolves once following, or once it is waiting for the services to create the
   * stream (it goes on waiting, and trying again, behind: until then no source has a baseline and
   * nothing cached is trusted). A failure before any waiting — JetStream off, say — is thrown.
   */
  function follow(): Promise<void> {
    return new Promise((resolve, reject) => {
      let waiting = false;
      const attempt = (): void => {
        consume(false, () => {
          waiting = true;
          resolve();
        }).then(resolve, (err: unknown) => {
          if (!waiting) return reject(err);
          if (!running) return;
          log.error({ err }, "not following access events; trying again");
          setTimeout(attempt, 1_000).unref();
        });
      };
      attempt();
    });
  }

  function announce(): void {
    if (!bus.isConnected()) return;
    const presence: IngressPresence = { replica, at: new Date().toISOString() };
    bus.nc.publish(ingressPresenceSubject(prefix), encodeJson(presence));
  }

  /**
   * Answer once the event is applied, or once this replica has stopped trusting cached positives
   * until it is: at once when the event is not in the stream or the source is not trusted anyway,
   * else after half a lease, so the answer reaches the revoking service within its wait.
   */
  async function answerSync(request: SyncRequest): Promise<SyncResponse> {
    const started = performance.now();
    const { source, sequence } = request;
    ledger.owed(source, sequence, request.published, Date.now());
    const done = () => (ledger.applied(source) ?? 0) >= sequence;
    if (!done() && request.published && ledger.distrust(source, Date.now()) === undefined) {
      await new Promise<void>((resolve) => {
        const waiter = { source, sequence, resolve };
        const timer = setTimeout(() => {
          syncWaiters.delete(waiter);
          resolve();
        }, leaseMs / 2);
        waiter.resolve = () => {
          clearTimeout(timer);
          syncWaiters.delete(waiter);
          resolve();
        };
        syncWaiters.add(waiter);
      });
    }
    const applied = done();
    if (!applied) ledger.hold(source, sequence);
    return { replica, applied, waitedMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  return {
    replica,
    trusted,
    sourceTrust() {
      const now = Date.now();
      const out = {} as Record<EventSource, boolean>;
      for (const s of ledger.sources) out[s] = ledger.distrust(s, now) === undefined;
      return out;
    },
    epoch: () => epoch,
    applied: () => {
      const out: Partial<Record<EventSource, number>> = {};
      for (const s of ledger.sources) {
        const a = ledger.applied(s);
        if (a !== undefined) out[s] = a;
      }
      return out;
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onReset(listener) {
      resetListeners.add(listener);
      return () => resetListeners.delete(listener);
    },
    async start() {
      running = true;
      subs.push(
        bus.nc.subscribe(heartbeatSubject(prefix, "*"), {
          callback: (err, msg) => {
            if (err) return;
            try {
              const parsed = FeedHeartbeat.safeParse(decodeJson(msg.data));
              // Only the owning service may publish on its subject (infra/nats): believe no other.
              if (parsed.success && msg.subject === heartbeatSubject(prefix, parsed.data.source)) {
                onHeartbeat(parsed.data);
              }
            } catch {
              // not JSON: ignore
            }
          },
        }),
        bus.nc.subscribe(ingressSyncSubject(prefix), {
          callback: (err, msg) => {
            if (err || !msg.reply) return;
            let request: SyncRequest;
            try {
              request = SyncRequest.parse(decodeJson(msg.data));
            } catch {
              return;
            }
            void answerSync(request).then((res) => msg.respond(encodeJson(res)));
          },
        }),
      );
      void (async () => {
        for await (const status of bus.nc.status()) {
          if (status.type === "disconnect") reset("nats disconnected");
          if (status.type === "reconnect") announce();
        }
      })();
      await follow();
      announce();
      presenceTimer = setInterval(announce, options.presenceIntervalMs);
      presenceTimer.unref();
      let recovering = false;
      overdueTimer = setInterval(() => {
        if (recovering) return;
        recovering = true;
        recoverLost()
          .catch((err: unknown) => log.warn({ err }, "could not look up the access-event stream"))
          .finally(() => {
            recovering = false;
          });
      }, leaseMs / 2);
      overdueTimer.unref();
    },
    async stop() {
      running = false;
      clearInterval(presenceTimer);
      clearInterval(overdueTimer);
      for (const s of subs) s.unsubscribe();
      await messages?.close();
      for (const w of syncWaiters) w.resolve();
    },
  };
}
