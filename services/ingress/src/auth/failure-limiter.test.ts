import { describe, expect, it } from "vitest";
import { clientKey, FailureLimiter } from "./failure-limiter.js";

function limiter(maxAddresses = 100) {
  let now = 0;
  const l = new FailureLimiter({ burst: 5, refillPerMinute: 30, maxAddresses, now: () => now });
  return { l, advance: (ms: number) => (now += ms) };
}

describe("FailureLimiter", () => {
  it("allows a burst of failures, then one per refill interval, with the wait in whole seconds", () => {
    const { l, advance } = limiter();
    for (let i = 0; i < 5; i++) {
      expect(l.retryAfterSeconds("a")).toBe(0);
      l.fail("a");
    }
    expect(l.retryAfterSeconds("a")).toBe(2); // 30 a minute: one every 2 s
    advance(1_500);
    expect(l.retryAfterSeconds("a")).toBe(1);
    advance(500);
    expect(l.retryAfterSeconds("a")).toBe(0);
    l.fail("a");
    expect(l.retryAfterSeconds("a")).toBe(2);
    expect(l.retryAfterSeconds("b")).toBe(0);
  });

  it("forgets an address once its allowance is whole again, and keeps at most maxAddresses", () => {
    const { l, advance } = limiter(100);
    l.fail("a");
    expect(l.size).toBe(1);
    advance(2_000);
    l.retryAfterSeconds("a");
    expect(l.size).toBe(0);
    for (let i = 0; i < 1_000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(l.size).toBe(100);
  });
});

describe("clientKey", () => {
  it("keys IPv4 by address, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64", () => {
    expect(clientKey("203.0.113.9")).toBe("203.0.113.9");
    expect(clientKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(clientKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2::99")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:DB8:0001:0002:ffff::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });
});
