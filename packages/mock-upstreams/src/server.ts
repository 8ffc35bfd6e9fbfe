import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type AnswerPlan, type Behaviour, planAnswer, type RecordedRequest } from "./behaviour.js";

export interface Route {
  operation: "chat" | "embeddings" | "completions" | "responses";
  stream: boolean;
  model: string;
}

/** How one provider's API looks on the wire. The server core handles scripting, timing and bookkeeping. */
export interface WireFormat {
  /** Appended to the origin to form the base URL an account is configured with. */
  basePath: string;
  /** null → 404 in the provider's error format. */
  route(method: string, url: URL, body: unknown): Route | null;
  /** A non-null answer refuses the request before routing (bad key, missing version header, unknown argument). */
  checkRequest(
    headers: IncomingMessage["headers"],
    url: URL,
    apiKey: string,
    body: unknown,
  ): { status: number; body: unknown } | null;
  /** Requests that read or manage stored state rather than ask for an answer (null: not one of them). */
  manage?(method: string, url: URL): { status: number; body: unknown } | null;
  /** A refusal of a routed request that depends on stored state (an unknown previous response). */
  checkRoute?(route: Route, body: Record<string, unknown>): { status: number; body: unknown } | null;
  errorBody(status: number, message: string | undefined): unknown;
  json(plan: AnswerPlan, route: Route, body: Record<string, unknown>): unknown;
  frames(plan: AnswerPlan, route: Route, body: Record<string, unknown>): string[];
  streamErrorFrame(errorType: string | undefined, message: string | undefined, route: Route): string;
  embeddings(route: Route, body: Record<string, unknown>): unknown;
}

export interface MockUpstream {
  /** Base URL to give the provider account (e.g. `http://127.0.0.1:1234/v1` for OpenAI). */
  url: string;
  /** The API key the server accepts; anything else gets the provider's 401 (Gemini: 400 API_KEY_INVALID). */
  apiKey: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Client connections that have closed so far. */
  readonly connectionsClosed: number;
  /** Client connections currently open. */
  readonly connectionsOpen: number;
  /**
   * Stream frames the client has taken so far (over all requests). The server writes a frame only
   * once the socket took the last one, as a real server under backpressure does, so a client that
   * stops reading stops this count.
   */
  readonly framesSent: number;
  /** Resolves when the next client connection closes (or rejects after `timeoutMs`). */
  waitForConnectionClose(timeoutMs?: number): Promise<void>;
  /** Queues behaviours for the next requests, one each, in order. */
  setNext(...behaviours: Behaviour[]): void;
  /** What requests get when the queue is empty (initially a normal answer). */
  setDefault(behaviour: Behaviour): void;
  /** Forgets recorded requests and queued behaviours. */
  reset(): void;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Default "test-key". */
  apiKey?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** What requests get when nothing is queued; e.g. `{ kind: "answer", chunks: 100 }` for a stream benchmark. */
  defaultBehaviour?: Behaviour;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startMockUpstream(wire: WireFormat, options: StartOptions = {}): Promise<MockUpstream> {
  const apiKey = options.apiKey ?? "test-key";
  const requests: RecordedRequest[] = [];
  const queue: Behaviour[] = [];
  let fallback: Behaviour = options.defaultBehaviour ?? { kind: "answer" };
  let closed = 0;
  let open = 0;
  let framesSent = 0;
  let seq = 0;
  let closeWaiters: Array<() => void> = [];
  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: unknown = raw;
    try {
      body = raw === "" ? null : JSON.parse(raw);
    } catch {
      // recorded as text
    }
    const url = new URL(req.url ?? "/", "http://mock");
    requests.push({
      method: req.method ?? "GET",
      path: url.pathname + url.search,
      headers: req.headers,
      body,
    });

    const refusal = wire.checkRequest(req.headers, url, apiKey, body);
    if (refusal !== null) return sendJson(res, refusal.status, refusal.body);
    const route = wire.route(req.method ?? "GET", url, body);
    if (route === null) {
      const managed = wire.manage?.(req.method ?? "GET", url) ?? null;
      if (managed !== null) return sendJson(res, managed.status, managed.body);
      return sendJson(res, 404, wire.errorBody(404, "Not found"));
    }
    const params = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const stateRefusal = wire.checkRoute?.(route, params) ?? null;
    if (stateRefusal !== null) return sendJson(res, stateRefusal.status, stateRefusal.body);

    const behaviour = queue.shift() ?? fallback;
    seq++;
    switch (behaviour.kind) {
      case "httpError": {
        const headers: Record<string, string> = {};
        if (behaviour.retryAfter !== undefined) headers["retry-after"] = behaviour.retryAfter;
        return sendJson(
          res,
          behaviour.status,
          behaviour.body ?? wire.errorBody(behaviour.status, behaviour.message),
          headers,
        );
      }
      case "hangBeforeHeaders":
        return; // the socket stays open until the client gives up
      case "malformed":
        if (route.stream) {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.end("data: {this is not json\n\n");
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end("{this is not json");
        }
        return;
      default:
        break;
    }
    if (route.operation === "embeddings") return sendJson(res, 200, wire.embeddings(route, params));
    const plan = planAnswer(
      behaviour,
      params.messages ?? params.contents ?? params.prompt ?? params.input,
      seq,
    );
    if (!route.stream) {
      if (behaviour.kind === "errorMidStream")
        return sendJson(res, 500, wire.errorBody(500, behaviour.message));
      if (behaviour.kind === "hangMidStream") {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"id":');
        return;
      }
      if (behaviour.kind === "answer" && behaviour.delayMs !== undefined) {
        await sleep(behaviour.delayMs);
        if (res.destroyed || req.socket.destroyed) return;
      }
      return sendJson(res, 200, wire.json(plan, route, params));
    }
    const frames = wire.frames(plan, route, params);
    const delay =
      behaviour.kind === "answer" || behaviour.kind === "toolCall" ? (behaviour.chunkDelayMs ?? 0) : 0;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    const stopAfter =
      behaviour.kind === "errorMidStream" || behaviour.kind === "hangMidStream"
        ? (behaviour.afterFrames ?? 2)
        : Number.POSITIVE_INFINITY;
    for (const [i, frame] of frames.entries()) {
      if (i >= stopAfter) break;
      if (res.destroyed) return;
      if (!res.write(frame)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.once("drain", done);
          res.once("close", done);
        });
        if (res.destroyed) return;
      }
      framesSent++;
      if (delay > 0) await sleep(delay);
    }
    if (behaviour.kind === "hangMidStream") return;
    if (behaviour.kind === "errorMidStream")
      res.write(wire.streamErrorFrame(behaviour.errorType, behaviour.message, route));
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, wire.errorBody(500, String(error)));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket: Socket) => {
    open++;
    sockets.add(socket);
    socket.on("close", () => {
      open--;
      closed++;
      sockets.delete(socket);
      const waiters = closeWaiters;
      closeWaiters = [];
      for (const wake of waiters) wake();
    });
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${wire.basePath}`,
    apiKey,
    requests,
    get connectionsClosed() {
      return closed;
    },
    get connectionsOpen() {
      return open;
    },
    get framesSent() {
      return framesSent;
    },
    waitForConnectionClose(timeoutMs = 5_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no client connection closed in time")), timeoutMs);
        closeWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    setNext(...behaviours) {
      queue.push(...behaviours);
    },
    setDefault(behaviour) {
      fallback = behaviour;
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
    },
    async close() {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
