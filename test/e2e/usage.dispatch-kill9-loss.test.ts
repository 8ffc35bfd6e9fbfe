import { generateKey } from "@gatehouse/keys";
import { waitFor } from "@gatehouse/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { spawnService } from "../src/processes.js";
import { createAccount, grant, newVirtualAccount } from "./access-api.js";
import { storedAnswered } from "./usage-stored.js";

/**
 * What `kill -9` of a dispatch process under load loses. Records wait in dispatch's memory for at
 * most USAGE_FLUSH_MS (or until 200 are pending) before they go to JetStream, where they are safe;
 * so a crash loses at most the calls answered in the last USAGE_FLUSH_MS before it. This counts the
 * calls answered with 200 against the records stored once a new dispatch has drained the stream.
 */
const FLUSH_MS = 1_000;
const WORKERS = 8;
const MIN_ANSWERED = 300;

let stack: TestStack;
let db: postgres.Sql;
const adminKey = generateKey("pat");

beforeAll(async () => {
  stack = await startTestStack({
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, USAGE_FLUSH_MS: String(FLUSH_MS) },
  });
  db = postgres(stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
}, 60_000);
afterAll(async () => {
  await db?.end({ timeout: 2 });
  await stack?.stop();
});

describe("usage records when dispatch is killed with SIGKILL under load", () => {
  it("lose at most the calls answered in the last USAGE_FLUSH_MS", async () => {
    await createAccount(stack, adminKey, "mock-main", ["mock-chat"]);
    const { va, key } = await newVirtualAccount(stack, adminKey, `kill9-${Date.now()}`);
    await grant(stack, adminKey, "mock-main", { kind: "virtual_account", id: va.id });

    // Dispatch as its own process, as in production, in place of the stack's in-process one.
    await stack.stopService("dispatch");
    const dispatch = await spawnService("dispatch", stack.env, 30_000);

    const answeredAt: number[] = [];
    let running = true;
    const call = async () => {
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "mock-main/mock-chat", messages: [{ role: "user", content: "hi" }] }),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.status === 200) answeredAt.push(Date.now());
    };
    const workers = Array.from({ length: WORKERS }, async () => {
      while (running) await call().catch(() => {});
    });
    let killedAt = 0;
    try {
      await waitFor(() => answeredAt.length >= MIN_ANSWERED, 60_000);
      killedAt = Date.now();
      dispatch.child.kill("SIGKILL");
      expect(await dispatch.exited).toBe("SIGKILL");
    } finally {
      running = false;
      await Promise.all(workers);
      await dispatch.kill("SIGKILL");
    }

    // A new dispatch drains what reached JetStream into Postgres.
    await stack.startService("dispatch");
    const stored = () => storedAnswered(db, va.id);
    let last = -1;
    await waitFor(
      async () => {
        const now = await stored();
        const stable = now === last;
        last = now;
        return stable && now > 0;
      },
      60_000,
      1_000,
    );
    // Give a late redelivery its chance before counting.
    await new Promise((r) => setTimeout(r, 2_000));
    const kept = await stored();

    const answered = answeredAt.length;
    const lost = Math.max(0, answered - kept);
    const inLastWindow = answeredAt.filter((t) => t > killedAt - FLUSH_MS).length;
    process.stdout.write(
      `kill -9 under load: ${answered} calls answered, ${kept} records stored, ${lost} lost; ` +
        `${inLastWindow} calls were answered in the last ${FLUSH_MS} ms before the kill\n`,
    );
    expect(kept).toBeGreaterThan(0);
    // A record is added just after its answer is sent, and the last batch may still be on its way to
    // NATS: a quarter second of slack on the window, never more than one more window.
    const withSlack = answeredAt.filter((t) => t > killedAt - FLUSH_MS - 250).length;
    expect(lost).toBeLessThanOrEqual(withSlack);
  }, 180_000);
});
