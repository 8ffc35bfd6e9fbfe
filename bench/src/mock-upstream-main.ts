#!/usr/bin/env node
import { startMockUpstream } from "./mock-upstream.js";

/** The mock as its own process, so it never shares an event loop with the load generator. */
const mock = await startMockUpstream({
  port: Number(process.env.PORT ?? 0),
  defaultChunks: Number(process.env.MOCK_CHUNKS ?? 200),
  defaultDelayMs: Number(process.env.MOCK_DELAY_MS ?? 0),
});
process.stdout.write(`${JSON.stringify({ listening: mock.url })}\n`);
const stop = () => void mock.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
// Exit with the parent: a benchmark that dies must not leave its mock behind.
process.stdin.on("end", stop);
process.stdin.resume();
