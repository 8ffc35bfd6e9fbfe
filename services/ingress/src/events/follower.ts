import { randomUUID } from "node:crypto";
import type { BusConnection } from "@gatehouse/bus";
import { decodeJson, encodeJson } from "@gatehouse/bus";
import {
  AccessEventEnvelope,
  accessEventStreamName,
  accessEventSubject,
  type EventSource,
  FeedHeartbeat,
  heartbeatSubject,
  type IngressPresence,
  ingressPresenceSubject,
  ingressSyncSubject,
  SyncRequest,
  type SyncResponse,
} from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import { ensureAccessEventStream } from "@gatehouse/outbox";
import { type ConsumerMessages, DeliverPolicy, type Subscription } from "nats";
import type { AccessFeed } from "./feed.js";

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
 * Trust rules: cached positives are usable only while (a) NATS is connected, (b) the feed was heard
 * (an event or a heartbeat) within the lease, and (c) no source's heartbeat has been ahead of what
 * this replica applied for longer than the lease. A disconnect or a sequence gap drops every cached
 * positive at once; the ordered consumer then resumes from the stream where it left off.
 */
export function createAccessFeed(options: FollowerOptions): AccessFeedFollower {
  const { bus, prefix, leaseMs } = options;
  const log = options.logger.child({ component: "access-feed" });
  const replica = randomUUID();
  const applied: Partial<Record<EventSource, number>> = {};
  const behindSince: Partial<Record<EventSource, number>> = {};
  const eventListeners = new Set<(e: AccessEventEnvelope) => void>();
  const resetListeners = new Set<() => void>();
  const syncWaiters = new Set<{ source: EventSource; sequence: number; resolve: () => void }>();
  let epoch = 0;
  let lastHeard = 0;
  let running = false;
  let messages: ConsumerMessages | undefined;
  const subs: Subscription[] = [];
  let presenceTimer: NodeJS.Timeout | undefined;

  function reset(reason: string): void {
    epoch++;
    log.info({ reason }, "dropping cached positives");
    for (const l of resetListeners) l();
  }

  function apply(envelope: AccessEventEnvelope): void {
    const last = applied[envelope.source];
    if (last !== undefined && envelope.sequence <= last) return; // redelivery
    if (last !== undefined && envelope.sequence > last + 1) {
      log.warn({ source: envelope.source, last, got: envelope.sequence }, "gap in access events");
      reset("gap");
    }
    applied[envelope.source] = envelope.sequence;
    lastHeard = Date.now();
    epoch++;
    for (const l of eventListeners) {
      try {
        l(envelope);
      } catch (err) {
        log.error({ err }, "access-event listener failed; dropping cached positives");
        reset("listener failure");
      }
    }
    const behind = behindSince[envelope.source];
    if (behind !== undefined) delete behindSince[envelope.source];
    for (const w of syncWaiters) {
      if (w.source === envelope.source && envelope.sequence >= w.sequence) w.resolve();
    }
  }

  function onHeartbeat(hb: FeedHeartbeat): void {
    lastHeard = Date.now();
    const mine = applied[hb.source];
    if (mine === undefined) {
      // First word from this source since we started: everything before now predates our caches.
      applied[hb.source] = hb.committedSequence;
      return;
    }
    if (hb.committedSequence > mine) behindSince[hb.source] ??= Date.now();
    else delete behindSince[hb.source];
  }

  function trusted(): boolean {
    if (!running || !bus.isConnected()) return false;
    const now = Date.now();
    if (now - lastHeard > leaseMs) return false;
    for (const since of Object.values(behindSince))
      if (since !== undefined && now - since > leaseMs) return false;
    return true;
  }

  async function consume(): Promise<void> {
    const stream = await ensureAccessEventStream(await bus.nc.jetstreamManager(), prefix);
    const consumer = await bus.nc.jetstream().consumers.get(stream, { deliver_policy: DeliverPolicy.New });
    messages = await consumer.consume();
    void (async () => {
      for await (const m of messages) {
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

  function announce(): void {
    if (!bus.isConnected()) return;
    const presence: IngressPresence = { replica, at: new Date().toISOString() };
    bus.nc.publish(ingressPresenceSubject(prefix), encodeJson(presence));
  }

  async function answerSync(request: SyncRequest): Promise<SyncResponse> {
    const started = performance.now();
    const done = () => (applied[request.source] ?? 0) >= request.sequence;
    if (!done()) {
      await new Promise<void>((resolve) => {
        const waiter = { source: request.source, sequence: request.sequence, resolve };
        const timer = setTimeout(() => {
          syncWaiters.delete(waiter);
          resolve();
        }, leaseMs);
        waiter.resolve = () => {
          clearTimeout(timer);
          syncWaiters.delete(waiter);
          resolve();
        };
        syncWaiters.add(waiter);
      });
    }
    return { replica, applied: done(), waitedMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  return {
    replica,
    trusted,
    epoch: () => epoch,
    applied: () => ({ ...applied }),
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
      await consume();
      announce();
      presenceTimer = setInterval(announce, options.presenceIntervalMs);
      presenceTimer.unref();
      log.info({ replica, stream: accessEventStreamName(prefix), leaseMs }, "following access events");
    },
    async stop() {
      running = false;
      clearInterval(presenceTimer);
      for (const s of subs) s.unsubscribe();
      await messages?.close();
      for (const w of syncWaiters) w.resolve();
    },
  };
}
