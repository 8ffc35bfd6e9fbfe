import { randomInt } from "node:crypto";
import {
  accessEventStream,
  ensureStream,
  handleUntilStuck,
  PULL_EXPIRES_MS,
  pullMessages,
} from "@gatehouse/bus";
import { AccessEventEnvelope, accessEventSubject, type OutboundEventType } from "@gatehouse/contracts";
import { boundedTransaction, isDatabaseTimeout } from "@gatehouse/db";
import { type EgressPolicy, egressConnector } from "@gatehouse/egress";
import { and, eq, gt, inArray, isNull, lte } from "drizzle-orm";
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg, type NatsConnection } from "nats";
import { Agent, type Dispatcher, request } from "undici";
import { WEBHOOK_DB_TIMEOUT_MS } from "../config.js";
import type { AuthContext } from "../context.js";
import { apiKeys } from "../db/schema.js";
import { keyExpiryNotices, webhookDeliveries, webhookEndpoints } from "../db/webhooks-schema.js";
import { openSecret } from "./crypto.js";
import { enqueueWebhook, keyEventData, outboundForAccessEvent } from "./outbound.js";
import { signedHeaders } from "./signature.js";

const BATCH = 20;
const MAX_BACKOFF_MS = 3_600_000;

/**
 * What the deliveries list shows for an attempt that got no HTTP answer, whatever the cause:
 * connection refused, reset, timed out, or not allowed by the egress policy all read the same, so
 * an admin cannot use endpoints to learn which internal hosts and ports answer. The cause is in
 * auth's log; HTTP statuses (from a host the policy allowed) are shown as they are.
 */
export const NO_HTTP_ANSWER =
  "could not deliver: the endpoint gave no HTTP answer (the cause is in auth's log)";

/** The connection pool deliveries go through: every connection is checked against the egress policy. */
export function webhookDispatcher(egress: EgressPolicy, timeoutMs: number): Agent {
  return new Agent({
    connect: egressConnector(egress, { timeout: timeoutMs }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** Delay before attempt `attempt + 1`: exponential, capped, with "equal jitter" (half fixed, half random). */
export function backoffMs(attempt: number, baseMs: number): number {
  const exp = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  const half = Math.floor(exp / 2);
  return half + randomInt(0, Math.max(1, exp - half));
}

/** Sends due deliveries, at least once each, until they succeed or run out of attempts. */
export async function deliverDue(ctx: AuthContext, dispatcher: Dispatcher): Promise<number> {
  const key = ctx.config.webhooks.key;
  if (!key) return 0;
  const now = ctx.now();
  // Claim a batch: several auth instances may run this loop; SKIP LOCKED keeps them apart.
  const claimed = await ctx.db.transaction(async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, now)))
      .orderBy(webhookDeliveries.nextAttemptAt)
      .limit(BATCH)
      .for("update", { skipLocked: true });
    if (due.length === 0) return [];
    return tx
      .update(webhookDeliveries)
      .set({ nextAttemptAt: new Date(now.getTime() + ctx.config.webhooks.claimMs) })
      .where(
        inArray(
          webhookDeliveries.id,
          due.map((d) => d.id),
        ),
      )
      .returning();
  });
  await Promise.all(
    claimed.map(async (d) => {
      // The database steps around the attempt are bounded too: the claim covers them (webhookClaimMs).
      const endpoints = await boundedTransaction(ctx.db, WEBHOOK_DB_TIMEOUT_MS, (tx) =>
        tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, d.endpointId)),
      );
      const endpoint = endpoints[0];
      if (!endpoint) return; // deleted meanwhile: its deliveries went with it (cascade)
      const body = Buffer.from(JSON.stringify(d.payload));
      let status: number | null = null;
      let error: string | null = null;
      try {
        const secret = openSecret(key, endpoint.id, endpoint.secretCiphertext);
        const res = await request(endpoint.url, {
          dispatcher,
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "Gatehouse-Webhooks/1",
            ...signedHeaders(secret, `msg_${d.id}`, body, ctx.now()),
          },
          body,
          // The whole attempt, body included: the dispatcher's timeouts are idle times, which a
          // receiver sending a byte now and then never lets fire — it held the attempt, and the
          // deliveries claimed with it, past their claim (then another instance sends them again).
          signal: AbortSignal.timeout(ctx.config.webhooks.timeoutMs),
          // undici's request() does not follow redirects: a 3xx counts as a failed attempt.
        });
        status = res.statusCode;
        // The status is the receiver's answer; its body is read only so the connection can be reused.
        await res.body.dump().catch(() => {});
      } catch (err) {
        error = NO_HTTP_ANSWER;
        ctx.logger.info({ deliveryId: d.id, err }, "webhook delivery got no HTTP answer");
      }
      const attempts = d.attempts + 1;
      const ok = status !== null && status >= 200 && status < 300;
      if (!ok && error === null) error = `endpoint answered ${status}`;
      const failed = !ok && attempts >= ctx.config.webhooks.maxAttempts;
      await boundedTransaction(ctx.db, WEBHOOK_DB_TIMEOUT_MS, (tx) =>
        tx
          .update(webhookDeliveries)
          .set({
            attempts,
            lastStatus: status,
            lastError: ok ? null : error,
            status: ok ? "delivered" : failed ? "failed" : "pending",
            deliveredAt: ok ? ctx.now() : null,
            nextAttemptAt:
              ok || failed
                ? null
                : new Date(ctx.now().getTime() + backoffMs(attempts, ctx.config.webhooks.retryBaseMs)),
          })
          .where(eq(webhookDeliveries.id, d.id)),
      );
      if (!ok)
        ctx.logger.info({ deliveryId: d.id, attempts, status, failed }, "webhook delivery attempt failed");
    }),
  );
  return claimed.length;
}

/** Announces keys that expire within the window, once per key (the notice row commits with the delivery). */
export async function scanExpiring(ctx: AuthContext): Promise<number> {
  const now = ctx.now();
  const until = new Date(now.getTime() + ctx.config.webhooks.expiringWithinMs);
  const rows = await ctx.db
    .select({ key: apiKeys })
    .from(apiKeys)
    .leftJoin(keyExpiryNotices, eq(keyExpiryNotices.keyId, apiKeys.id))
    .where(
      and(
        isNull(keyExpiryNotices.keyId),
        isNull(apiKeys.revokedAt),
        gt(apiKeys.expiresAt, now),
        lte(apiKeys.expiresAt, until),
      ),
    )
    .limit(500);
  let sent = 0;
  for (const { key } of rows) {
    await ctx.db.transaction(async (tx) => {
      const fresh = await tx
        .insert(keyExpiryNotices)
        .values({ keyId: key.id, notifiedAt: now })
        .onConflictDoNothing()
        .returning({ id: keyExpiryNotices.keyId });
      if (fresh.length > 0)
        sent += await enqueueWebhook(tx, "key.expiring", keyEventData(key), now, `expiring:${key.id}`);
    });
  }
  return sent;
}

/**
 * acl's `grant.removed` and `budget.threshold`/`budget.exhausted` events, from the access-event stream through a durable consumer shared by
 * every auth instance: each event is enqueued once (dedup key `acl:<sequence>:<committed at>`), acked
 * after commit.
 */
const FROM_ACL: ReadonlySet<OutboundEventType> = new Set([
  "grant.removed",
  "budget.threshold",
  "budget.exhausted",
]);

/** The durable consumer of acl's events shared by every auth instance. */
export const GRANT_WEBHOOKS_DURABLE = "auth-outbound-webhooks";
/** acl's events one pull brings at most: all that waits in auth's memory behind a slow database. */
const PULL_EVENTS = 20;
/**
 * The longest enqueuing one event may wait on the database (a select and an insert, milliseconds
 * when it answers): well inside the 30 s ack wait, so a database that hangs (a lock held, a
 * connection silently gone) hands the event back to JetStream rather than hold it, the events
 * pulled with it, and auth's stop.
 */
export const ENQUEUE_TIMEOUT_MS = 5_000;
/**
 * How long an event that could not be enqueued waits in JetStream before it is delivered again: 5 s
 * plus half a pull, so that it comes due while a pull is open (see `redeliveryDelayMs` in the bus:
 * nats-server 2.9 sends a redelivery that comes due just as the only pull expires to its ack wait).
 */
const ENQUEUE_RETRY_MS = 5_000 + PULL_EXPIRES_MS / 2;

export async function followGrantRemovals(
  ctx: AuthContext,
  nc: NatsConnection,
  prefix: string,
): Promise<() => Promise<void>> {
  const jsm = await nc.jetstreamManager();
  const stream = await ensureStream(jsm, accessEventStream(prefix));
  // Made on start, and again after a failed pull: a consumer deleted under auth (ingress may delete
  // any on this stream, docs/security.md) is back within a second, not at auth's next start.
  const join = async () => {
    await jsm.consumers.add(stream, {
      durable_name: GRANT_WEBHOOKS_DURABLE,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: accessEventSubject(prefix, "acl"),
      ack_wait: 30_000_000_000,
    });
    return nc.jetstream().consumers.get(stream, GRANT_WEBHOOKS_DURABLE);
  };
  let consumer: Awaited<ReturnType<typeof join>> | undefined = await join();
  /** Enqueues one event's webhooks; false when the database did not answer in time. */
  const handle = async (m: JsMsg): Promise<boolean> => {
    try {
      const env = AccessEventEnvelope.safeParse(m.json());
      const outbound = env.success ? outboundForAccessEvent(env.data.event) : undefined;
      if (env.success && outbound !== undefined && FROM_ACL.has(outbound.type)) {
        // The sequence alone would take a new event for an old one after acl's history was reset
        // (database restored or recreated); with its commit time, only a redelivery matches.
        const dedupKey = `acl:${env.data.sequence}:${env.data.at}`;
        await boundedTransaction(ctx.db, ENQUEUE_TIMEOUT_MS, (tx) =>
          enqueueWebhook(tx, outbound.type, outbound.data, ctx.now(), dedupKey),
        );
      }
      m.ack();
      return true;
    } catch (err) {
      m.nak(ENQUEUE_RETRY_MS);
      if (!isDatabaseTimeout(err)) {
        ctx.logger.warn({ err }, "could not enqueue a grant webhook; it will be redelivered");
        return true;
      }
      ctx.logger.warn(
        { seq: m.seq, timeoutMs: ENQUEUE_TIMEOUT_MS },
        "acl's events for webhooks: the database did not answer in time; the event goes back to JetStream",
      );
      return false;
    }
  };
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  const loop = (async () => {
    while (!stopped) {
      try {
        // A bounded pull, and the next only once its events are enqueued: behind a database that
        // hangs, the rest wait in JetStream. (consume() pulls more as messages arrive, read or not:
        // they and their redeliveries after the ack wait piled up in auth without bound.)
        consumer ??= await join();
        messages = await pullMessages(consumer, PULL_EVENTS);
        const handedBack = await handleUntilStuck(messages, handle, (m) => m.nak(ENQUEUE_RETRY_MS));
        if (handedBack > 0)
          ctx.logger.warn(
            { events: handedBack },
            "acl's events for webhooks: handed back to JetStream untried behind a database that did not answer",
          );
      } catch (err) {
        consumer = undefined;
        if (stopped) break;
        ctx.logger.warn({ err }, "acl's events for webhooks: pull failed; pulling again");
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  })();
  return async () => {
    stopped = true;
    await messages?.close();
    await loop;
  };
}

/** Runs the delivery loop and the expiry scan until stopped. */
export function startWebhookWorker(ctx: AuthContext, egress: EgressPolicy): { stop(): Promise<void> } {
  const dispatcher = webhookDispatcher(egress, ctx.config.webhooks.timeoutMs);
  let stopped = false;
  let lastScan = 0;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      try {
        if (Date.now() - lastScan >= ctx.config.webhooks.expiryScanMs) {
          lastScan = Date.now();
          await scanExpiring(ctx);
        }
        while (!stopped && (await deliverDue(ctx, dispatcher)) === BATCH) {
          // a full batch: more may be due
        }
      } catch (err) {
        ctx.logger.warn({ err }, "webhook worker pass failed; will retry");
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ctx.config.webhooks.pollMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await dispatcher.close();
    },
  };
}
