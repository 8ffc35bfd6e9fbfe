import { randomFillSync } from "node:crypto";
import type { Socket } from "node:net";
import { encodeInvokeRequest, type Frame, maxPayloadOf, traceCarrier, transportError } from "@gatehouse/bus";
import {
  type Dialect,
  GatehouseError,
  INVOKE_ACTION,
  type InvokeMeta,
  invokeCancelSubject,
  invokeCreditSubject,
  type Operation,
  STREAM_CREDIT_WINDOW_BYTES,
  subjectFor,
} from "@gatehouse/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import { callerOf } from "../../auth/caller.js";
import type { IngressContext } from "../../context.js";
import { errorBody } from "../../http/errors.js";
import { CLIENT_CLOSED_STATUS, finishRequest } from "../../http/observe.js";
import { type Admission, settle as settleUsage } from "../../limits/admit.js";
import type { InferenceShape } from "./shape.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The request body as received; forwarded to dispatch byte for byte. */
    rawBody: Buffer | undefined;
  }
}

/** One account's model, or a route (whose targets only dispatch knows). */
export type Target =
  | { account: string; model: string; route?: undefined }
  | { route: string; account?: undefined };

/**
 * Cancel tokens come out of a pool of random bytes refilled 4 KiB at a time: every call now has
 * one, and a randomBytes() call per request cost ~10 µs here against well under 1 µs.
 */
const tokenPool = Buffer.alloc(4096);
let tokenAt = tokenPool.length;
function newCallToken(): string {
  if (tokenAt + 12 > tokenPool.length) {
    randomFillSync(tokenPool);
    tokenAt = 0;
  }
  const token = tokenPool.toString("base64url", tokenAt, tokenAt + 12);
  tokenAt += 12;
  return token;
}

/** On a routed call's answer: the route named, and the `<account>/<model>` that answered. */
export const ROUTE_HEADER = "x-gatehouse-route";
const TARGET_HEADER = "x-gatehouse-target";

const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

function invokeMetaJson(
  request: FastifyRequest,
  target: Target,
  shape: InferenceShape,
  operation: Operation,
  dialect: Dialect,
  cancel: string,
): string {
  const caller = callerOf(request);
  const meta: InvokeMeta = {
    operation,
    dialect,
    stream: shape.stream,
    includeUsage: shape.includeUsage,
    requestId: request.id,
    principal: { id: caller.principal.id, kind: caller.principal.kind },
    keyId: caller.keyId,
    cancel,
  };
  if (target.route === undefined) {
    meta.account = target.account;
    meta.model = target.model;
  } else meta.route = target.route;
  // Explicitly the request's: the active context does not outlive an await (SynchronousContextManager).
  if (request.traceContext) {
    const trace = traceCarrier(request.traceContext);
    if (trace) meta.trace = trace;
  }
  return JSON.stringify(meta);
}

/**
 * Send an authorized inference request to dispatch and relay the answer. A non-streaming answer is
 * one request (its reply reassembled from part frames when it is large); streams are written to the
 * client frame by frame as they arrive, and the HTTP status is committed only with the first chunk,
 * so failures before it are proper HTTP errors. A client that leaves cancels the upstream call.
 */
export async function forward(
  ctx: IngressContext,
  request: FastifyRequest,
  reply: FastifyReply,
  target: Target,
  shape: InferenceShape,
  operation: Operation,
  dialect: Dialect,
  admission?: Admission,
): Promise<FastifyReply> {
  if (!ctx.bus.isConnected()) {
    throw new GatehouseError("service_unavailable", "the dispatch service is unavailable", {
      detail: "nats: not connected",
    });
  }
  const body = request.rawBody ?? Buffer.from(JSON.stringify(request.body));
  // The call's cancel (and a stream's credit) token: 96 random bits, so no other caller can guess a
  // subject that stops it.
  const token = newCallToken();
  const payload = encodeInvokeRequest(
    invokeMetaJson(request, target, shape, operation, dialect, token),
    body,
  );
  const subject = subjectFor(ctx.config.prefix, "dispatch", INVOKE_ACTION);
  if (!shape.stream) return relayAnswer(ctx, request, reply, subject, payload, token, admission);
  return relayStream(
    ctx,
    request,
    reply,
    subject,
    payload,
    token,
    operation === "responses" ? "responses" : dialect,
    target.route,
    admission,
  );
}

/**
 * Calls waiting for an answer on a client connection. One `close` listener per connection, added the
 * first time a call waits on it, rather than a listener added and removed per call: that churn on
 * the response cost ~10 % of c=64 throughput (`pnpm bench:ab`). A Set, as pipelined requests on one
 * connection may wait at once.
 */
const kWaiting = Symbol("gatehouse.waitingCalls");
type WatchedSocket = Socket & { [kWaiting]?: Set<() => void> };

function waitingCalls(socket: Socket): Set<() => void> {
  const watched = socket as WatchedSocket;
  let calls = watched[kWaiting];
  if (calls === undefined) {
    const created = new Set<() => void>();
    calls = created;
    watched[kWaiting] = created;
    socket.once("close", () => {
      for (const leave of created) leave();
      created.clear();
    });
  }
  return calls;
}

async function relayAnswer(
  ctx: IngressContext,
  request: FastifyRequest,
  reply: FastifyReply,
  subject: string,
  payload: Buffer,
  token: string,
  admission: Admission | undefined,
): Promise<FastifyReply> {
  const raw = reply.raw;
  let clientGone = false;
  const cancel = () => ctx.bus.nc.publish(invokeCancelSubject(ctx.config.prefix, token));
  const onClose = () => {
    if (clientGone) return;
    clientGone = true;
    cancel();
  };
  const waiting = request.raw.socket ? waitingCalls(request.raw.socket) : undefined;
  waiting?.add(onClose);
  let frame: Frame;
  try {
    frame = await ctx.dispatch.request(subject, payload, ctx.config.dispatchTimeoutMs, {
      maxBytes: ctx.config.maxResponseBytes,
      idleTimeoutMs: ctx.config.streamIdleTimeoutMs,
    });
  } catch (err) {
    // This replica gave up on the call (too large, timed out): whatever dispatch still does for it is waste.
    cancel();
    throw transportError(err, "dispatch");
  } finally {
    waiting?.delete(onClose);
  }
  if (clientGone) {
    request.log.info({ code: "client_closed" }, "client disconnected before the answer; upstream cancelled");
    reply.hijack();
    raw.destroy();
    finishRequest(ctx.logger, request, reply, CLIENT_CLOSED_STATUS);
    return reply;
  }
  // (x-gatehouse-route is on the reply already: the handler names the route on every answer.)
  if (frame.kind === "error") throw frame.error;
  if (frame.kind !== "result")
    throw new GatehouseError("internal_error", "internal error", {
      detail: `unexpected ${frame.kind} frame`,
    });
  if (frame.target !== undefined) {
    reply.header(TARGET_HEADER, frame.target);
    answeredBy(request, frame.target);
  }
  request.usageJson = frame.usage;
  settleUsage(admission, frame.usage);
  return reply.code(frame.status).type("application/json").send(frame.body);
}

/** How a stream's events look: Responses streams number their events and name an error event. */
type StreamDialect = Dialect | "responses";

async function relayStream(
  ctx: IngressContext,
  request: FastifyRequest,
  reply: FastifyReply,
  subject: string,
  payload: Buffer,
  token: string,
  dialect: StreamDialect,
  route: string | undefined,
  admission: Admission | undefined,
): Promise<FastifyReply> {
  const frames = ctx.dispatch.stream(subject, payload, {
    firstFrameTimeoutMs: ctx.config.dispatchTimeoutMs,
    idleTimeoutMs: ctx.config.streamIdleTimeoutMs,
    // Dispatch stays within the credit window, a large upstream event included (it is sent in slices);
    // the margin covers a frame or two in flight around an acknowledgement.
    maxQueuedBytes: STREAM_CREDIT_WINDOW_BYTES + 2 * maxPayloadOf(ctx.bus.nc),
  });
  const cancelSubject = invokeCancelSubject(ctx.config.prefix, token);
  const creditSubject = invokeCreditSubject(ctx.config.prefix, token);
  // Chunk bytes the client has taken, and how many of them dispatch has been told about.
  let written = 0;
  let acknowledged = 0;
  // Set once dispatch sent its terminal frame: nothing is left there to cancel.
  let dispatchEnded = false;
  let clientGone = false;
  const raw = reply.raw;
  const onClose = () => {
    // Both the socket and the response report the close: one cancel is enough.
    if (raw.writableFinished || clientGone) return;
    clientGone = true;
    ctx.bus.nc.publish(cancelSubject);
    void frames.return?.();
  };
  request.raw.socket?.once("close", onClose);
  raw.once("close", onClose);
  let started = false;
  // A routed call's headers: the route, and the target dispatch settled on (its `target` frame).
  // (a copy only for a routed call, whose target frame adds to it)
  const headers: Readonly<Record<string, string>> =
    route === undefined ? SSE_HEADERS : { ...SSE_HEADERS, [ROUTE_HEADER]: route };
  // A Responses error event carries the next sequence number: one per event relayed so far.
  let events = 0;
  // Chunks after the first that arrive in one event-loop turn (an upstream that sent many at once)
  // go to the client as one write at the end of the turn; the first goes out at once.
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    raw.uncork();
  };
  try {
    for await (const frame of frames) {
      if (clientGone) break;
      switch (frame.kind) {
        case "chunk": {
          if (!started) {
            started = true;
            writeSseHead(request, reply, headers, admission);
          } else if (!corked) {
            corked = true;
            raw.cork();
            setImmediate(uncork);
          }
          if (dialect === "responses") events += countEvents(frame.data);
          let waited = false;
          if (!raw.write(frame.data)) {
            uncork();
            waited = true;
            if (!(await waitDrain(raw, ctx.config.streamWriteTimeoutMs))) {
              // The client took nothing for that long: end its stream and free the upstream.
              clientGone = true;
              ctx.bus.nc.publish(cancelSubject, "stream_write_timeout");
              void frames.return?.();
              request.log.info(
                { code: "stream_write_timeout", written },
                "client read nothing for too long; stream ended, upstream cancelled",
              );
              raw.destroy();
              finishRequest(ctx.logger, request, reply, CLIENT_CLOSED_STATUS);
              return reply;
            }
          }
          written += frame.data.byteLength;
          // Every half window; and after a wait, so a slow but live client keeps dispatch waiting on.
          if (
            written - acknowledged >= STREAM_CREDIT_WINDOW_BYTES / 2 ||
            (waited && written > acknowledged)
          ) {
            acknowledged = written;
            ctx.bus.nc.publish(creditSubject, String(written));
          }
          break;
        }
        case "end":
          request.usageJson = frame.usage;
          if (!started) {
            // An upstream stream with no chunks at all: still a well-formed (empty) SSE answer.
            writeSseHead(request, reply, headers, admission);
          }
          settleUsage(admission, frame.usage);
          raw.end();
          return reply;
        case "error":
          dispatchEnded = true;
          if (!started) throw frame.error;
          writeStreamError(raw, dialect, frame.error, events);
          raw.end();
          return reply;
        case "target":
          // Only a routed call has a target to name (and its own copy of the headers to name it in).
          if (headers !== SSE_HEADERS) (headers as Record<string, string>)[TARGET_HEADER] = frame.target;
          answeredBy(request, frame.target);
          break;
        case "result":
        case "part":
          throw new GatehouseError("internal_error", "internal error", {
            detail: `${frame.kind} frame in a stream`,
          });
      }
    }
    if (clientGone) {
      request.log.info({ code: "client_closed" }, "client disconnected mid-stream; upstream cancelled");
      if (!started) reply.hijack();
      raw.destroy();
      finishRequest(ctx.logger, request, reply, CLIENT_CLOSED_STATUS);
    }
    return reply;
  } catch (err) {
    // The stream failed on this side (silence, a gap, an overrun): stop the upstream call as well.
    if (!clientGone && !dispatchEnded) ctx.bus.nc.publish(cancelSubject);
    const error = transportError(err, "dispatch");
    if (!started) throw error;
    request.log.warn({ code: error.code, detail: error.detail }, "stream failed after it started");
    writeStreamError(raw, dialect, error, events);
    raw.end();
    return reply;
  } finally {
    uncork();
    request.raw.socket?.off("close", onClose);
    raw.off("close", onClose);
  }
}

/**
 * A routed call's access line and server span name the target that answered (`<account>/<model>`,
 * from dispatch's target frame), next to the route: as its usage record does.
 */
function answeredBy(request: FastifyRequest, target: string): void {
  const route = request.target?.route;
  if (route === undefined) return;
  const slash = target.indexOf("/");
  if (slash <= 0) return;
  request.target = { route, account: target.slice(0, slash), model: target.slice(slash + 1) };
}

/** A stream's 200, with the rate-limit headers set on the reply when limits applied to the call. */
function writeSseHead(
  request: FastifyRequest,
  reply: FastifyReply,
  headers: Readonly<Record<string, string>>,
  admission: Admission | undefined,
): void {
  reply.hijack();
  const head = { ...headers, "x-request-id": request.id };
  reply.raw.writeHead(200, admission === undefined ? head : { ...reply.getHeaders(), ...head });
}

/** True once the client took the buffered bytes (or went away), false after `timeoutMs` without. */
function waitDrain(raw: NodeJS.WritableStream, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (drained: boolean) => {
      clearTimeout(timer);
      raw.off("drain", done);
      raw.off("close", done);
      resolve(drained);
    };
    const done = () => settle(true);
    const timer = setTimeout(() => settle(false), timeoutMs);
    raw.once("drain", done);
    raw.once("close", done);
  });
}

/** An error after the 200 went out: an SSE error event in the caller's dialect, then the end. */
function writeStreamError(
  raw: NodeJS.WritableStream,
  dialect: StreamDialect,
  error: GatehouseError,
  sequence: number,
): void {
  if (dialect === "responses") {
    const event = {
      type: "error",
      code: error.code,
      message: error.message,
      param: null,
      sequence_number: sequence,
    };
    raw.write(`event: error\ndata: ${JSON.stringify(event)}\n\n`);
    return;
  }
  const body = JSON.stringify(errorBody(dialect, error.code, error.message));
  raw.write(dialect === "anthropic" ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`);
}

/** SSE events in a chunk frame (each ends with a blank line). */
function countEvents(data: Buffer): number {
  let n = 0;
  for (let at = data.indexOf("\n\n"); at >= 0; at = data.indexOf("\n\n", at + 2)) n++;
  return n;
}
