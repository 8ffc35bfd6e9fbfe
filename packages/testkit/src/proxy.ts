import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** Port on 127.0.0.1 that forwards to the target. */
  readonly port: number;
  /** Sever every connection and refuse new ones (a network partition). */
  cut(): void;
  /**
   * Keep every connection open but pass nothing either way, and hold new ones the same way (a
   * server that hangs: nothing is refused or closed, nothing answers).
   */
  stall(): void;
  /** Accept connections again (held ones are closed, so their clients reconnect). */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy a test can cut, to partition one client (an ingress replica from NATS, a
 * service from Postgres) without touching the shared server.
 */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const held = new Set<Socket>();
  let mode: "open" | "cut" | "stalled" = "open";
  const hold = (s: Socket) => {
    s.unpipe();
    s.pause();
    held.add(s);
    s.on("error", () => {}).on("close", () => held.delete(s));
  };
  const server: Server = createServer((client) => {
    if (mode === "cut") {
      client.destroy();
      return;
    }
    if (mode === "stalled") {
      hold(client);
      return;
    }
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const cleanup = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", cleanup).on("close", cleanup);
    upstream.on("error", cleanup).on("close", cleanup);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const release = () => {
    for (const s of held) s.destroy();
    held.clear();
  };
  return {
    port,
    cut() {
      mode = "cut";
      release();
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    stall() {
      mode = "stalled";
      for (const s of sockets) hold(s);
      sockets.clear();
    },
    restore() {
      release();
      mode = "open";
    },
    close() {
      mode = "cut";
      release();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
