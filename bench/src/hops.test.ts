import { existsSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./gatehouse.js";
import { measureHops, pingPong } from "./hops.js";
import { Cleanup } from "./proc.js";

// A smoke test of the measurement itself (the echo process runs from dist/, which `pnpm test`
// builds first): no timing assertions — timings belong in the benchmark.
describe.runIf(existsSync(join(REPO_ROOT, "bench/dist/hops.js")))("process hop measurement", () => {
  it("times every round trip to another process and within this one, then stops the echo process", async () => {
    const cleanup = new Cleanup();
    try {
      const r = await measureHops(cleanup, 2, 50);
      expect(r.otherProcessMs).toHaveLength(100);
      expect(r.sameProcessMs).toHaveLength(100);
      expect(Math.min(...r.otherProcessMs, ...r.sameProcessMs)).toBeGreaterThan(0);
    } finally {
      await cleanup.run();
    }
  });
});

describe("a round trip whose echo goes away", () => {
  it("fails instead of waiting for ever", async () => {
    const server = createServer((socket) => socket.on("data", () => socket.destroy()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const socket = createConnection({ port, host: "127.0.0.1" });
    await new Promise((resolve) => socket.once("connect", resolve));
    try {
      await expect(pingPong(socket, 3)).rejects.toThrow("the echo connection closed");
    } finally {
      socket.destroy();
      server.close();
    }
  });
});
