import { waitFor } from "@gatehouse/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnService } from "../src/processes.js";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";
import { storedAnswered } from "./usage-stored.js";

/**
 * A graceful stop (SIGTERM) of a dispatch process with calls under way: they are answered, and their
 * usage records are published before the process exits — none lost (docs/observability.md, "Loss").
 */
let world: InferenceWorld;
let db: postgres.Sql;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai"], env: { USAGE_FLUSH_MS: "1000" } });
  db = postgres(world.stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
}, 60_000);
afterAll(async () => {
  await db?.end({ timeout: 2 });
  await world?.stop();
});

describe("usage records when dispatch is stopped with SIGTERM", () => {
  it("lets the calls under way finish and stores every one of their records", async () => {
    const { stack } = world;
    await stack.stopService("dispatch");
    const dispatch = await spawnService("dispatch", stack.env, 30_000);
    const upstream = world.byType("openai").upstream;
    // Each call takes 1.5 s at the provider: the stop comes while they are all under way.
    upstream?.setDefault({ kind: "answer", delayMs: 1_500 });
    const calls = Array.from({ length: 4 }, () =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "openai-main/gpt-4o-mini",
          messages: [{ role: "user", content: "hi" }],
        }),
      }).then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      }),
    );
    try {
      await waitFor(() => (upstream?.requests.length ?? 0) >= 4, 10_000, 20);
      expect(await dispatch.kill("SIGTERM")).toBe(0);
      expect(await Promise.all(calls)).toEqual([200, 200, 200, 200]);
    } finally {
      upstream?.setDefault({ kind: "answer" });
      await dispatch.kill("SIGKILL");
    }
    // A new dispatch stores what reached JetStream.
    await stack.startService("dispatch");
    const stored = () => storedAnswered(db, world.vaId);
    await waitFor(async () => (await stored()) >= 4, 20_000, 250);
    expect(await stored()).toBe(4);
  }, 120_000);
});
