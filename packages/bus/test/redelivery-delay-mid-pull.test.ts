import { describe, expect, it } from "vitest";
import { PULL_EXPIRES_MS, redeliveryDelayMs } from "../src/index.js";

// A consumer's next pull starts as it naks and its pulls end every PULL_EXPIRES_MS: a redelivery
// due just as one expires was dropped by JetStream 2.9 (nats-server 2.9.10) and waited out its 30 s
// ack wait (services/acl/test/budgets.spend-hung-database-handed-back.test.ts, 1 run in ~12). Each
// delay lands half a pull away from any pull's end.
describe("redeliveryDelayMs", () => {
  it("doubles from the base to the cap, each delay due mid-pull rather than as a pull expires", () => {
    const options = { baseMs: 2_000, maxMs: 30_000 };
    const delays = [1, 2, 3, 4, 5, 6, 40].map((n) => redeliveryDelayMs(n, options));
    const half = PULL_EXPIRES_MS / 2;
    expect(delays).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000].map((d) => d + half));
    for (const d of delays) expect(d % PULL_EXPIRES_MS).toBe(half);
  });
});
