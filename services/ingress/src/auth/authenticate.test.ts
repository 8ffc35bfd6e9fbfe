import type { AccessEventEnvelope, Dialect, ValidateResponse } from "@gatehouse/contracts";
import { generateKey, hashKey } from "@gatehouse/keys";
import { GatehouseMetrics } from "@gatehouse/kit";
import type { FastifyReply, FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import type { IngressContext } from "../context.js";
import { createAuthenticator } from "./authenticate.js";
import type { Caller } from "./caller.js";
import { FailureLimiter } from "./failure-limiter.js";
import { KeyCache } from "./key-cache.js";

const USER = "00000000-0000-4000-8000-000000000001";
const KEY_ID = "00000000-0000-4000-8000-0000000000aa";

function valid(principalId = USER, kind: "pat" | "vat" = "pat"): ValidateResponse {
  return {
    outcome: "valid",
    principal: {
      id: principalId,
      kind: kind === "pat" ? "user" : "virtual_account",
      name: "x",
      role: "member",
    },
    key: { id: KEY_ID, kind, expiresAt: null },
    cacheTtlMs: 60_000,
    asOfSequence: 1,
  };
}

/** A feed and a bus client under the test's control. */
function harness(answers: Array<ValidateResponse | (() => ValidateResponse)>) {
  let trusted = true;
  let epoch = 1;
  const onEvent = new Set<(e: AccessEventEnvelope) => void>();
  const onReset = new Set<() => void>();
  const asked: string[] = [];
  const feed = {
    trusted: () => trusted,
    epoch: () => epoch,
    onEvent: (l: (e: AccessEventEnvelope) => void) => {
      onEvent.add(l);
      return () => onEvent.delete(l);
    },
    onReset: (l: () => void) => {
      onReset.add(l);
      return () => onReset.delete(l);
    },
  };
  const client = {
    request: async (_endpoint: unknown, payload: { keyHash: string }) => {
      asked.push(payload.keyHash);
      const next = answers.shift() ?? valid();
      return typeof next === "function" ? next() : next;
    },
  };
  const cache = new KeyCache({ maxKeys: 100, maxUnknown: 100 });
  const metrics = new GatehouseMetrics();
  let now = 1_000_000;
  const limiter = new FailureLimiter({ burst: 3, refillPerMinute: 60, maxAddresses: 100, now: () => now });
  const authenticate = createAuthenticator(
    { feed, client, metrics } as unknown as Omit<IngressContext, "authenticate">,
    cache,
    limiter,
  );
  async function run(
    key: string | undefined,
    dialect: Dialect = "openai",
    header = "authorization",
    ip = "203.0.113.7",
  ) {
    const request = {
      headers: key === undefined ? {} : { [header]: header === "authorization" ? `Bearer ${key}` : key },
      routeOptions: { config: { dialect } },
      ip,
      caller: undefined as Caller | undefined,
    } as unknown as FastifyRequest;
    await authenticate.call(undefined as never, request, {} as FastifyReply);
    return request.caller;
  }
  return {
    run,
    asked,
    cache,
    metrics,
    advance: (ms: number) => {
      now += ms;
    },
    setTrusted: (t: boolean) => {
      trusted = t;
    },
    bumpEpoch: () => {
      epoch++;
    },
    emit: (event: AccessEventEnvelope["event"]) => {
      for (const l of onEvent) l({ source: "auth", sequence: 2, at: new Date().toISOString(), event });
    },
    reset: () => {
      for (const l of onReset) l();
    },
  };
}

/**
 * A harness whose first validation is overtaken by an event: the epoch moves after the request has
 * left (calls made at once join it first), before its answer arrives.
 */
function overtakenThen(...later: ValidateResponse[]) {
  const overtaken = async () => {
    await null;
    h.bumpEpoch();
    return valid();
  };
  const h: ReturnType<typeof harness> = harness([overtaken as unknown as () => ValidateResponse, ...later]);
  return h;
}

describe("authenticate", () => {
  it("refuses missing and malformed keys without asking auth", async () => {
    const h = harness([]);
    await expect(h.run(undefined)).rejects.toMatchObject({ code: "missing_api_key" });
    await expect(h.run("gatehouse_pat_short")).rejects.toMatchObject({ code: "malformed_api_key" });
    const key = generateKey("pat");
    await expect(h.run(`${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`)).rejects.toMatchObject({
      code: "malformed_api_key",
    });
    expect(h.asked).toEqual([]);
  });

  it("sends only the hash, then answers from cache while the feed is trusted", async () => {
    const h = harness([valid()]);
    const key = generateKey("pat");
    expect(await h.run(key)).toMatchObject({ keyId: KEY_ID, keyKind: "pat" });
    expect(await h.run(key)).toMatchObject({ keyId: KEY_ID });
    expect(h.asked).toEqual([hashKey(key)]);
    const lookups = (await h.metrics.registry.getSingleMetric("gatehouse_cache_lookups_total")?.get())
      ?.values;
    expect(lookups?.map((v) => [v.labels.cache, v.labels.result, v.value])).toEqual([
      ["key", "miss", 1],
      ["key", "hit", 1],
    ]);
  });

  it("shares one validation among concurrent calls with one key while the feed is trusted", async () => {
    const h = harness([valid()]);
    const key = generateKey("pat");
    const callers = await Promise.all(Array.from({ length: 50 }, () => h.run(key)));
    expect(callers.every((c) => c?.keyId === KEY_ID)).toBe(true);
    expect(h.asked).toEqual([hashKey(key)]);
  });

  it("asks again for a call that joined a validation an event overtook", async () => {
    const key = generateKey("pat");
    const h = overtakenThen({ outcome: "revoked", cacheTtlMs: 0, asOfSequence: 2 });
    const both = await Promise.allSettled([h.run(key), h.run(key)]);
    expect(both.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(h.asked).toHaveLength(2);
  });

  it("does not give a call that came after an event the answer to a retry sent before it", async () => {
    // The first validation is overtaken by an unrelated event, so it is asked again; auth reads the key
    // for that retry before a revoke commits, and its answer is slow. The revoke's event is applied here
    // and the revoke returns; a call after that must not take the retry's (valid) answer.
    const key = generateKey("pat");
    let retrySent!: () => void;
    const sent = new Promise<void>((resolve) => {
      retrySent = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const readBeforeRevoke = async () => {
      retrySent();
      await held;
      return valid();
    };
    const h: ReturnType<typeof harness> = harness([
      () => {
        h.bumpEpoch();
        return valid();
      },
      readBeforeRevoke as unknown as () => ValidateResponse,
      { outcome: "revoked", cacheTtlMs: 0, asOfSequence: 3 },
    ]);
    const early = h.run(key);
    await sent;
    h.bumpEpoch(); // the revoke's event is applied; the revoke returns
    const late = h.run(key);
    release();
    await expect(early).resolves.toMatchObject({ keyId: KEY_ID }); // it came before the revoke returned
    await expect(late).rejects.toMatchObject({ code: "api_key_revoked" });
    expect(h.asked).toHaveLength(3);
  });

  it("asks every time while the feed is not trusted, concurrent calls too", async () => {
    const h = harness([valid(), valid(), valid(), valid()]);
    h.setTrusted(false);
    const key = generateKey("pat");
    await h.run(key);
    await h.run(key);
    expect(h.asked).toHaveLength(2);
    await Promise.all([h.run(key), h.run(key)]);
    expect(h.asked).toHaveLength(4);
  });

  it("asks every time while the feed is not trusted", async () => {
    const h = harness([valid(), valid()]);
    h.setTrusted(false);
    const key = generateKey("pat");
    await h.run(key);
    await h.run(key);
    expect(h.asked).toHaveLength(2);
  });

  it("does not keep a positive fetched while the feed is not trusted, once it is trusted again", async () => {
    // An event the replica has not received may already have ended the key; nothing would drop
    // an entry stored now until that event arrives.
    const h = harness([valid(), valid()]);
    h.setTrusted(false);
    const key = generateKey("pat");
    await h.run(key);
    h.setTrusted(true);
    await h.run(key);
    expect(h.asked).toHaveLength(2);
  });

  it("accepts x-api-key only on Anthropic-dialect routes", async () => {
    const h = harness([valid()]);
    const key = generateKey("pat");
    await expect(h.run(key, "openai", "x-api-key")).rejects.toMatchObject({ code: "missing_api_key" });
    expect(await h.run(key, "anthropic", "x-api-key")).toMatchObject({ keyId: KEY_ID });
  });

  it("maps every refusal to its code and caches only unknown keys, briefly", async () => {
    const refusals = [
      ["unknown", "invalid_api_key"],
      ["expired", "api_key_expired"],
      ["revoked", "api_key_revoked"],
      ["principal_deactivated", "principal_deactivated"],
      ["virtual_account_expired", "virtual_account_expired"],
    ] as const;
    for (const [outcome, code] of refusals) {
      const h = harness([{ outcome, cacheTtlMs: 5_000, asOfSequence: 1 }]);
      const key = generateKey("pat");
      await expect(h.run(key)).rejects.toMatchObject({ code });
      if (outcome === "unknown") {
        // Served from the negative cache: auth is not asked again.
        await expect(h.run(key)).rejects.toMatchObject({ code });
        expect(h.asked).toHaveLength(1);
      } else {
        // Not cached: the next request asks auth again (which now says valid).
        await expect(h.run(key)).resolves.toMatchObject({ keyId: KEY_ID });
        expect(h.asked).toHaveLength(2);
      }
    }
  });

  it("drops cached positives an auth event affects", async () => {
    const key = generateKey("pat");
    const cases: Array<AccessEventEnvelope["event"]> = [
      { type: "key.revoked", keyId: KEY_ID, keyHash: hashKey(key), reason: "x" },
      {
        type: "key.expiry_shortened",
        keyId: KEY_ID,
        keyHash: hashKey(key),
        expiresAt: new Date(Date.now() + 1_000).toISOString(),
      },
      { type: "user.deactivated", userId: USER },
      { type: "user.keys_revoked", userId: USER },
      { type: "keys.all_revoked" },
    ];
    for (const event of cases) {
      const h = harness([valid(), valid()]);
      await h.run(key);
      h.emit(event);
      await h.run(key);
      expect(h.asked, event.type).toHaveLength(2);
    }
    const va = harness([valid(USER, "vat"), valid(USER, "vat"), valid(USER, "vat")]);
    await va.run(key);
    va.emit({ type: "keys.all_revoked" });
    await va.run(key);
    expect(va.asked, "keys.all_revoked leaves VATs alone").toHaveLength(1);
    va.emit({ type: "virtual_account.deleted", virtualAccountId: USER });
    await va.run(key);
    expect(va.asked).toHaveLength(2);
  });

  it("drops every positive on a feed reset", async () => {
    const h = harness([valid(), valid()]);
    const key = generateKey("pat");
    await h.run(key);
    h.reset();
    await h.run(key);
    expect(h.asked).toHaveLength(2);
  });

  it("does not cache an answer fetched while the epoch moved; it asks once more", async () => {
    const key = generateKey("pat");
    const h = overtakenThen(valid(), valid());
    await h.run(key);
    expect(h.asked).toHaveLength(2);
    await h.run(key);
    expect(h.asked).toHaveLength(2);
  });
});

describe("failed authentications per client address", () => {
  const unknown = { outcome: "unknown", cacheTtlMs: 5_000, asOfSequence: 1 } as const;

  it("refuses an address's well-formed keys with 429 after its burst of failures, without asking auth", async () => {
    const h = harness([unknown, unknown, unknown, unknown, unknown]);
    for (let i = 0; i < 3; i++) {
      await expect(h.run(generateKey("vat"))).rejects.toMatchObject({ code: "invalid_api_key" });
    }
    const refused = h.run(generateKey("vat"));
    await expect(refused).rejects.toMatchObject({ code: "too_many_failed_authentications", status: 429 });
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 1 });
    expect(h.asked).toHaveLength(3);
    // Another address is not affected; this one may fail once more after a second.
    await expect(h.run(generateKey("vat"), "openai", "authorization", "198.51.100.1")).rejects.toMatchObject({
      code: "invalid_api_key",
    });
    h.advance(1_000);
    await expect(h.run(generateKey("vat"))).rejects.toMatchObject({ code: "invalid_api_key" });
    await expect(h.run(generateKey("vat"))).rejects.toMatchObject({
      code: "too_many_failed_authentications",
    });
  });

  it("never refuses a key it has seen valid, cached or not, while its address is throttled", async () => {
    const h = harness([valid(), unknown, unknown, unknown, valid()]);
    const real = generateKey("pat");
    await h.run(real);
    for (let i = 0; i < 3; i++)
      await expect(h.run(generateKey("vat"))).rejects.toMatchObject({ code: "invalid_api_key" });
    await expect(h.run(generateKey("vat"))).rejects.toMatchObject({
      code: "too_many_failed_authentications",
    });
    expect(await h.run(real)).toMatchObject({ keyId: KEY_ID });
    // Even when the cached answer may not be used (lease lost) and auth must be asked again.
    h.reset();
    h.setTrusted(false);
    expect(await h.run(real)).toMatchObject({ keyId: KEY_ID });
    expect(h.asked.filter((x) => x === hashKey(real))).toHaveLength(2);
  });

  it("limits a revoked key like any other failure once the revocation is heard", async () => {
    const key = generateKey("pat");
    const revoked = { outcome: "revoked", cacheTtlMs: 0, asOfSequence: 2 } as const;
    const h = harness([valid(), revoked, revoked, revoked]);
    await h.run(key);
    h.emit({ type: "key.revoked", keyId: KEY_ID, keyHash: hashKey(key), reason: "x" });
    for (let i = 0; i < 3; i++) await expect(h.run(key)).rejects.toMatchObject({ code: "api_key_revoked" });
    await expect(h.run(key)).rejects.toMatchObject({ code: "too_many_failed_authentications" });
    expect(h.asked).toHaveLength(4);
  });

  it("counts neither missing nor malformed keys (they cost nothing to refuse)", async () => {
    const h = harness([]);
    for (let i = 0; i < 10; i++) {
      await expect(h.run(undefined)).rejects.toMatchObject({ code: "missing_api_key" });
      await expect(h.run("gatehouse_pat_short")).rejects.toMatchObject({ code: "malformed_api_key" });
    }
    await expect(h.run(generateKey("pat"))).resolves.toMatchObject({ keyId: KEY_ID });
  });
});

describe("KeyCache", () => {
  const c = {
    principal: { id: USER, kind: "user", name: "x", role: "member" },
    keyId: KEY_ID,
    keyKind: "pat",
    keyHash: "a".repeat(64),
  } as const;

  it("evicts the least recently used valid key past its bound and expires entries", () => {
    const cache = new KeyCache({ maxKeys: 2, maxUnknown: 2 });
    cache.setPositive("a", c, 1_000, 0);
    cache.setPositive("b", c, 1_000, 0);
    cache.get("a", 1);
    cache.setPositive("c", c, 1_000, 1);
    expect(cache.get("b", 2)).toBeUndefined();
    expect(cache.get("a", 2)?.kind).toBe("positive");
    expect(cache.get("a", 1_000)).toBeUndefined();
    cache.setPositive("z", c, 0, 0);
    expect(cache.get("z", 0)).toBeUndefined();
  });

  it("keeps unknown keys apart: any number of them evicts no valid key", () => {
    const cache = new KeyCache({ maxKeys: 2, maxUnknown: 2 });
    cache.setPositive("real", c, 60_000, 0);
    for (let i = 0; i < 1_000; i++) cache.setNegative(`junk-${i}`, 5_000, 0);
    expect(cache.get("real", 1)?.kind).toBe("positive");
    expect(cache.get("junk-999", 1)?.kind).toBe("negative");
    expect(cache.get("junk-0", 1)).toBeUndefined();
  });
});
