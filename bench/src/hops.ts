#!/usr/bin/env node
/**
 * What one process hop costs on this machine: sequential round trips of a small message over a
 * loopback TCP socket to a Node echo server in another process, and to one inside this process.
 * A direct call crosses between processes twice (client → mock → client); a call through an
 * HTTP → NATS → HTTP gateway eight times (client → ingress → nats-server → dispatch → upstream and
 * back), so the gateway's shape alone costs three extra cross-process round trips — a floor under
 * "added latency" that no code inside the gateway can remove.
 *
 * Run as a script (`node hops.js`, PORT in the environment) it is the echo server of the other process.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { REPO_ROOT } from "./gatehouse.js";
import { type Cleanup, freePort, sleep, spawnNode } from "./proc.js";

/** Extra process crossings of a call through the gateway's shape, over a direct call. */
export const EXTRA_CROSSINGS = 6;

export interface HopResult {
  /** Round trips to an echo server in another process, ms. */
  otherProcessMs: number[];
  /** Round trips to an echo server in this process, ms. */
  sameProcessMs: number[];
}

function echoServer(port: number): Promise<Server> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", (data) => socket.write(data));
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function connect(port: number, deadlineMs: number): Promise<Socket> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = createConnection({ port, host: "127.0.0.1", noDelay: true }, () => resolve(socket));
        socket.once("error", reject);
      });
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(50);
    }
  }
}

const MESSAGE = Buffer.alloc(64, 0x61);

const ROUND_TRIP_TIMEOUT_MS = 5_000;

/** `count` sequential round trips of a 64-byte message; each one's time in ms. */
export async function pingPong(socket: Socket, count: number): Promise<number[]> {
  const times: number[] = [];
  let received = 0;
  let started = 0;
  let settle: ((err?: Error) => void) | undefined;
  const onData = (data: Buffer) => {
    received += data.length;
    if (received < MESSAGE.length) return;
    received = 0;
    times.push(performance.now() - started);
    settle?.();
  };
  const onClose = () => settle?.(new Error("the echo connection closed"));
  socket.on("data", onData);
  socket.on("close", onClose);
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => settle?.(new Error(`no echo within ${ROUND_TRIP_TIMEOUT_MS} ms`)),
          ROUND_TRIP_TIMEOUT_MS,
        );
        settle = (err) => {
          clearTimeout(timer);
          settle = undefined;
          if (err) reject(err);
          else resolve();
        };
        started = performance.now();
        socket.write(MESSAGE);
      });
    }
  } finally {
    socket.off("data", onData);
    socket.off("close", onClose);
  }
  return times;
}

/** Alternates the two kinds of round trip over `rounds`, so the machine's drift hits both alike. */
export async function measureHops(cleanup: Cleanup, rounds: number, perRound: number): Promise<HopResult> {
  const otherPort = await freePort();
  const echo = spawnNode(
    { name: "echo", args: [join(REPO_ROOT, "bench/dist/hops.js")], env: { PORT: String(otherPort) } },
    cleanup,
  );
  const local = await echoServer(0);
  const sockets: Socket[] = [];
  const result: HopResult = { otherProcessMs: [], sameProcessMs: [] };
  try {
    const other = await connect(otherPort, 10_000);
    sockets.push(other);
    const same = await connect((local.address() as { port: number }).port, 1_000);
    sockets.push(same);
    await pingPong(other, 200); // warm-up
    await pingPong(same, 200);
    for (let r = 0; r < rounds; r++) {
      result.otherProcessMs.push(...(await pingPong(other, perRound)));
      result.sameProcessMs.push(...(await pingPong(same, perRound)));
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    local.close();
    await echo.stop();
  }
  return result;
}

if (process.argv[1]?.endsWith("hops.js")) {
  const server = await echoServer(Number(process.env.PORT ?? 0));
  const stop = () => server.close(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // Exit with the parent: a benchmark that dies must not leave its echo server behind.
  process.stdin.on("end", stop);
  process.stdin.resume();
}
