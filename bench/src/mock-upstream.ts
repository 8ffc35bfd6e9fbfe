import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A minimal, fast OpenAI-compatible upstream for the benchmark: `POST /v1/chat/completions` answers a
 * fixed small completion, or (with `stream: true`) an SSE stream of N chunks. Both gateways rewrite
 * bodies and drop unknown headers, so the stream's shape rides in the model name, which every gateway
 * passes through: `bench-c<chunks>-d<delayMs>` (e.g. `bench-c200-d0`). A direct caller may instead
 * set `x-mock-chunks` / `x-mock-delay-ms`.
 *
 * Not packages/mock-upstreams (the tests' scriptable upstreams): that one records every request and
 * builds each answer from a behaviour plan, and answered ~20 % fewer small calls at c=64 on this
 * machine (docs/benchmarks.md, "The bench's own mock upstream"); the mock must not be the bottleneck
 * the gateway is measured against.
 */
export interface MockUpstreamOptions {
  port?: number;
  /** Chunks when neither the model name nor a header says. */
  defaultChunks?: number;
  /** Delay between chunks (ms) when neither the model name nor a header says. */
  defaultDelayMs?: number;
}

export interface MockUpstream {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

const MODEL_SHAPE = /-c(\d{1,5})(?:-d(\d{1,4}))?$/;

/**
 * A model whose non-streamed answers report `total_tokens` N (`bench-u200`: 200), so a token limit's
 * accounting can be checked against a known usage (`pnpm bench:limits`). Other models report 16.
 */
const MODEL_USAGE = /-u(\d{1,6})$/;
export const usageModel = (totalTokens: number) => `bench-u${totalTokens}`;

/** A ~800 KB stream (4,200 chunks of ~190 bytes): what `pnpm bench:slow-readers` asks for. */
export const SLOW_READER_MODEL = "bench-c4200-d0";

/** Model ids the benchmark registers with Gatehouse's provider account. */
export const BENCH_MODELS = ["bench-small", "bench-c200-d0", "bench-c20-d5", SLOW_READER_MODEL] as const;

interface StreamShape {
  chunks: number;
  delayMs: number;
}

export function streamShape(model: string, headers: IncomingMessage["headers"], defaults: StreamShape) {
  const m = MODEL_SHAPE.exec(model);
  const header = (name: string): number | undefined => {
    const v = headers[name];
    const n = typeof v === "string" ? Number.parseInt(v, 10) : Number.NaN;
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  return {
    chunks: Math.max(1, header("x-mock-chunks") ?? (m?.[1] ? Number(m[1]) : defaults.chunks)),
    delayMs: header("x-mock-delay-ms") ?? (m?.[2] ? Number(m[2]) : defaults.delayMs),
  };
}

function completion(model: string): string {
  const total = Number(MODEL_USAGE.exec(model)?.[1] ?? 16);
  const prompt = Math.min(9, total);
  return JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Hello from the mock upstream." },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: { prompt_tokens: prompt, completion_tokens: total - prompt, total_tokens: total },
  });
}

/** With `include_usage`, OpenAI's chunks all carry `"usage":null` until the final usage chunk. */
function chunk(
  model: string,
  delta: Record<string, string>,
  finish: string | null,
  includeUsage: boolean,
): string {
  return `data: ${JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  })}\n\n`;
}

function usageChunk(model: string, chunks: number): string {
  return `data: ${JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model,
    choices: [],
    usage: { prompt_tokens: 9, completion_tokens: chunks, total_tokens: 9 + chunks },
  })}\n\n`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function stream(
  req: IncomingMessage,
  res: ServerResponse,
  model: string,
  shape: StreamShape,
  includeUsage: boolean,
) {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-mock-chunks": String(shape.chunks),
  });
  let closed = false;
  req.socket.once("close", () => {
    closed = true;
  });
  // First chunk carries the role, like OpenAI; each later one a single token. A client that does
  // not keep up is waited for, as a real server's socket makes it wait.
  res.write(chunk(model, { role: "assistant", content: "" }, null, includeUsage));
  for (let i = 1; i < shape.chunks && !closed; i++) {
    if (shape.delayMs > 0) await sleep(shape.delayMs);
    if (!res.write(chunk(model, { content: "x" }, i === shape.chunks - 1 ? "stop" : null, includeUsage)))
      await new Promise<void>((resolve) => {
        res.once("drain", resolve);
        req.socket.once("close", resolve);
      });
  }
  if (includeUsage && !closed) res.write(usageChunk(model, shape.chunks));
  res.end("data: [DONE]\n\n");
}

const MODELS_BODY = JSON.stringify({
  object: "list",
  data: BENCH_MODELS.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "bench" })),
});

export function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const defaults = { chunks: options.defaultChunks ?? 200, delayMs: options.defaultDelayMs ?? 0 };
  const cached = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (req.method === "GET" && url.endsWith("/models")) {
      res.writeHead(200, { "content-type": "application/json" }).end(MODELS_BODY);
      return;
    }
    if (req.method !== "POST" || !url.endsWith("/chat/completions")) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end('{"error":{"message":"not found","type":"invalid_request_error"}}');
      return;
    }
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      let body: { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };
      try {
        body = JSON.parse(Buffer.concat(parts).toString("utf8"));
      } catch {
        res
          .writeHead(400, { "content-type": "application/json" })
          .end('{"error":{"message":"bad json","type":"invalid_request_error"}}');
        return;
      }
      const model = typeof body.model === "string" ? body.model : "bench-small";
      if (body.stream === true) {
        void stream(
          req,
          res,
          model,
          streamShape(model, req.headers, defaults),
          body.stream_options?.include_usage === true,
        );
        return;
      }
      let payload = cached.get(model);
      if (!payload) {
        payload = Buffer.from(completion(model));
        if (cached.size < 64) cached.set(model, payload);
      }
      res
        .writeHead(200, { "content-type": "application/json", "content-length": payload.length })
        .end(payload);
    });
  });
  server.keepAliveTimeout = 120_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
