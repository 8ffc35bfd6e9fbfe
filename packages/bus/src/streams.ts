import {
  AccessEventEnvelope,
  accessEventStreamName,
  accessEventSubject,
  type EventSource,
  usageStreamName,
  usageSubject,
} from "@gatehouse/contracts";
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  nanos,
  RetentionPolicy,
  StorageType,
} from "nats";

/** What a JetStream stream of ours is: its name, its subjects and how long it keeps what. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  retention: RetentionPolicy;
  maxAgeMs: number;
  /** Messages with a msg id seen within this window are dropped: a re-publish after a crash is free. */
  duplicateWindowMs: number;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

/**
 * Access events, kept a week for followers that reconnect. The relay's msg id is
 * `<source>:<sequence>:<created_at>`: a re-publish after a crash is dropped, but not a new event that
 * reuses a sequence after the source's history was reset.
 */
export function accessEventStream(prefix: string): StreamSpec {
  return {
    name: accessEventStreamName(prefix),
    subjects: [accessEventSubject(prefix, "*")],
    retention: RetentionPolicy.Limits,
    maxAgeMs: WEEK_MS,
    duplicateWindowMs: 10 * 60 * 1000,
  };
}

/**
 * Usage records, buffered until every durable consumer has them: dispatch stores them
 * (`dispatch-usage`) and acl counts their cost against budgets (`acl-budget-spend`). Interest
 * retention: a record is dropped once both acked it. (A stream created as a work queue by an older
 * version refuses acl's consumer: delete it once dispatch has drained it; docs/governance.md.)
 */
export function usageStream(prefix: string): StreamSpec {
  return {
    name: usageStreamName(prefix),
    subjects: [usageSubject(prefix)],
    retention: RetentionPolicy.Interest,
    maxAgeMs: WEEK_MS,
    duplicateWindowMs: 2 * 60 * 1000,
  };
}

/** Create the stream if it does not exist yet (file storage); answers its name. */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<string> {
  const { name } = spec;
  try {
    await jsm.streams.info(name);
    return name;
  } catch {
    // not there yet
  }
  try {
    await jsm.streams.add({
      name,
      subjects: spec.subjects,
      storage: StorageType.File,
      retention: spec.retention,
      max_age: nanos(spec.maxAgeMs),
      duplicate_window: nanos(spec.duplicateWindowMs),
    });
  } catch (err) {
    // Another replica created it between our info and add.
    await jsm.streams.info(name).catch(() => {
      throw err;
    });
  }
  return name;
}

/**
 * Create a durable pull consumer with explicit acks if it does not exist yet (another instance may
 * create it at the same time): how each service that shares the work of a stream joins it.
 */
export async function ensureDurable(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  options: { maxAckPending: number; ackWaitMs: number },
): Promise<void> {
  try {
    await jsm.consumers.info(stream, durable);
    return;
  } catch {
    // not there yet
  }
  await jsm.consumers
    .add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: options.maxAckPending,
      ack_wait: nanos(options.ackWaitMs),
    })
    .catch(async (err: unknown) => {
      // Another instance created it at the same time.
      await jsm.consumers.info(stream, durable).catch(() => {
        throw err;
      });
    });
}

/** JetStream's "stream not found" (JSStreamNotFoundErr). */
const STREAM_NOT_FOUND = 10059;

/**
 * Wait for a stream that other services create, without creating it: a follower (ingress) needs only
 * to read the access-event stream, and whoever may create a stream chooses its whole configuration —
 * a `republish` would have the server publish on subjects that user may not. Throws once `timeoutMs`
 * has passed; `onWait` is called once, when the first look finds nothing.
 */
export async function awaitStream(
  jsm: JetStreamManager,
  name: string,
  options: {
    timeoutMs: number;
    pollMs?: number;
    onWait?: () => void;
    stopped?: () => boolean;
    createdBy: string;
  },
): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await jsm.streams.info(name);
      return name;
    } catch (err) {
      if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NOT_FOUND) throw err;
    }
    if (attempt === 0) options.onWait?.();
    if (Date.now() >= deadline || options.stopped?.()) {
      throw new Error(`the stream ${name} does not exist: ${options.createdBy} create it when they start`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
}

/** JetStream's "no message found" (JSNoMessageFoundErr). */
const NO_MESSAGE_FOUND = 10037;

/**
 * The sequence of the newest event from `source` the stream holds (0 when it holds none): where a
 * follower stands for that source when it starts reading after the stream's current end.
 */
export async function lastAccessEventSequence(
  jsm: JetStreamManager,
  stream: string,
  prefix: string,
  source: EventSource,
): Promise<number> {
  try {
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: accessEventSubject(prefix, source) });
    return AccessEventEnvelope.parse(stored.json()).sequence;
  } catch (err) {
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === NO_MESSAGE_FOUND) return 0;
    throw err;
  }
}

/** How long a pull (`pullMessages`) stays open for more messages (the least nats.js allows). */
export const PULL_EXPIRES_MS = 1_000;

/**
 * How long a message a consumer could not handle waits before JetStream delivers it again, by its
 * delivery count (`JsMsg.info.deliveryCount`, 1 on the first): `baseMs` doubled each time, at most
 * `maxMs`. A database outage is tried often at first and then at a steady, bounded pace, so a fleet
 * does not hammer a recovering database and notices its return within `maxMs`.
 *
 * Plus half a pull (`PULL_EXPIRES_MS / 2`): the consumer's next pull starts as it naks, and its
 * pulls end every `PULL_EXPIRES_MS`, so a whole-second delay came due just as a pull expired.
 * JetStream 2.9 (nats-server 2.9.10 here) then takes the due message off its redelivery queue,
 * finds only that expired pull waiting, and drops it (rewinding its stream position instead): the
 * message waited out its 30 s ack wait — the acl hung-database test's flake after the pull fixes.
 * Due mid-pull, it goes to a pull still open.
 */
export function redeliveryDelayMs(deliveryCount: number, options: { baseMs: number; maxMs: number }): number {
  const n = Number.isFinite(deliveryCount) ? Math.max(1, Math.min(deliveryCount, 32)) : 1;
  return Math.min(options.maxMs, options.baseMs * 2 ** (n - 1)) + PULL_EXPIRES_MS / 2;
}
/** How long past its expiry a pull waits for JetStream's word that it ended before giving up on it. */
const PULL_BACKSTOP_MS = 5_000;

/**
 * A bounded pull of at most `maxMessages` from a durable `consumer`, handed over as they arrive
 * (read it with `handleUntilStuck`), which ends when JetStream says it did. nats.js ends a pull on a
 * timer of its own too, 5 % past its expiry (50 ms), started when the pull is made, while JetStream
 * counts the expiry from when the pull's request reaches it — sent only once the pull is read:
 * behind a busy event loop a message JetStream delivered in between went to an inbox no longer read
 * and waited out its ack wait (30 s). Likewise its watch on the pull's idle heartbeats (every
 * 500 ms): two missed behind a busy event loop and it sent a second request on the same inbox, whose
 * messages JetStream went on delivering after the first request's end closed that inbox. Both are
 * replaced by one timer `PULL_BACKSTOP_MS` past the expiry, for an end JetStream never sends (a
 * connection lost).
 */
export async function pullMessages(consumer: Consumer, maxMessages: number): Promise<ConsumerMessages> {
  const messages = await consumer.fetch({ max_messages: maxMessages, expires: PULL_EXPIRES_MS });
  // nats.js 2.x keeps its timer as `timeout` and its heartbeat watch as `monitor` (each with a
  // `cancel()`); if a version does not, they stay.
  type Cancellable = { cancel?: () => void } | null;
  const pull = messages as unknown as { timeout?: Cancellable; monitor?: Cancellable };
  if (typeof pull.timeout?.cancel === "function") {
    pull.timeout.cancel();
    pull.timeout = null;
    if (typeof pull.monitor?.cancel === "function") {
      pull.monitor.cancel();
      pull.monitor = null;
    }
    const backstop = setTimeout(() => void messages.close(), PULL_EXPIRES_MS + PULL_BACKSTOP_MS);
    void messages.closed().finally(() => clearTimeout(backstop));
  }
  return messages;
}

/**
 * Handles a pull's messages one at a time until `handle` answers false (what it needs, its database,
 * did not answer in time); the rest are handed back untried (`handBack`: a nak), since waiting on the
 * same for each would hold them past their ack wait, each a timeout longer. Answers how many went back.
 * A handler that throws (a bug: handlers answer their own failures) has its message and the rest of
 * the pull handed back too, then the error is thrown: left unanswered, they waited out their ack
 * wait. A `handBack` that throws (the connection closed) leaves that one to the ack wait alone.
 */
export async function handleUntilStuck(
  messages: AsyncIterable<JsMsg>,
  handle: (m: JsMsg) => Promise<boolean>,
  handBack: (m: JsMsg) => void,
): Promise<number> {
  let answering = true;
  let handedBack = 0;
  let thrown: { err: unknown } | undefined;
  const giveBack = (m: JsMsg) => {
    try {
      handBack(m);
    } catch {
      // JetStream redelivers it after its ack wait
    }
  };
  for await (const m of messages) {
    if (answering) {
      try {
        answering = await handle(m);
      } catch (err) {
        thrown = { err };
        answering = false;
        giveBack(m);
      }
    } else {
      giveBack(m);
      handedBack++;
    }
  }
  if (thrown) throw thrown.err;
  return handedBack;
}
