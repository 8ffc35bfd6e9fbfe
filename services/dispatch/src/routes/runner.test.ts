import { type ErrorCode, type FallbackOn, GatehouseError } from "@gatehouse/contracts";
import type { InvokeResult, ProviderAccount, ProviderClient } from "@gatehouse/providers";
import { describe, expect, it } from "vitest";
import type { LoadedAccount, ProviderClients } from "../invoke/clients.js";
import { CallSignal } from "../invoke/controls.js";
import { breakerKey, TargetHealth } from "./health.js";
import type { RoutePlans } from "./plans.js";
import { RouteRunner } from "./runner.js";
import type { RoutePlan } from "./store.js";

/** How a scripted target behaves: answer, fail with a provider error, or never answer until aborted. */
type Script = { answer: string } | { fail: ErrorCode; detail?: string } | { hang: true } | { disabled: true };

const ALL_BUT_INVALID: FallbackOn[] = ["connect", "timeout", "rate_limit", "server_error", "auth"];

function planFor(name: string, accounts: string[], firstByteTimeoutMs = 60_000): RoutePlan {
  return {
    name,
    kind: "chat",
    strategy: "priority",
    targets: accounts.map((account) => ({
      account,
      model: "gpt",
      id: `${account}/gpt`,
      weight: 1,
      breaker: breakerKey(name, `${account}/gpt`),
    })),
    fallbackOn: new Set(ALL_BUT_INVALID),
    firstByteTimeoutMs,
    cooldownMs: 30_000,
    failureThreshold: 3,
  };
}

/** The runner over in-memory accounts whose clients follow `scripts` (the plan as RoutePlans would load it). */
function runnerFor(
  plan: RoutePlan,
  scripts: Record<string, Script>,
  /** Accounts not yet loaded: `get` waits on this before it answers for them. */
  loading?: { accounts: Set<string>; gate: Promise<void> },
) {
  const failed: [string, ErrorCode][] = [];
  const called: string[] = [];
  const signals: AbortSignal[] = [];
  const client = (account: string, script: Script): ProviderClient =>
    ({
      invoke: (_input: unknown, signal: AbortSignal): Promise<InvokeResult> => {
        called.push(account);
        signals.push(signal);
        // Like the provider clients: an aborted signal ends the call before anything is sent.
        if (signal.aborted) return Promise.reject(signal.reason);
        if ("answer" in script) {
          return Promise.resolve({
            kind: "json",
            status: 200,
            body: { text: script.answer },
            usage: null,
          } as unknown as InvokeResult);
        }
        if ("fail" in script) {
          return Promise.reject(
            new GatehouseError(script.fail, `${account} failed`, { detail: script.detail ?? "HTTP 500" }),
          );
        }
        // Like undici: the request ends when its signal aborts, with the signal's reason.
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      },
    }) as unknown as ProviderClient;
  const entries = new Map(
    Object.entries(scripts).map(([account, script]) => {
      const loaded: LoadedAccount = {
        account: { name: account, type: "openai" } as unknown as ProviderAccount,
        enabled: !("disabled" in script),
        prices: new Map(),
        version: "1",
      };
      return [account, { loaded, client: client(account, script) }];
    }),
  );
  const clients = {
    peek: (name: string) => (loading?.accounts.has(name) ? undefined : entries.get(name)),
    get: async (name: string) => {
      if (loading?.accounts.has(name)) await loading.gate;
      return entries.get(name);
    },
  } as unknown as ProviderClients;
  const plans = { peek: () => plan, get: async () => plan } as unknown as RoutePlans;
  const runner = new RouteRunner(plans, clients, (account, code) => failed.push([account, code]));
  return { runner, failed, called, signals };
}

const INPUT = { operation: "chat", dialect: "openai", stream: false } as const;

describe("a routed call's failed targets", () => {
  it("are reported for each target the call went on from, but not a skipped account or the answering one", async () => {
    const plan = planFor("r1", ["a", "b", "c", "d"]);
    const { runner, failed, called } = runnerFor(plan, {
      a: { fail: "provider_error" },
      b: { disabled: true },
      c: { fail: "provider_rate_limited", detail: "HTTP 429" },
      d: { answer: "from d" },
    });
    const tried: string[] = [];
    const call = await runner.invoke("r1", INPUT, {}, new CallSignal().asAbortSignal(), (account) =>
      tried.push(account),
    );
    call.finish();
    expect(call.account).toBe("d");
    expect(call.targetId).toBe("d/gpt");
    expect(call.loaded.account.name).toBe("d");
    expect(called).toEqual(["a", "c", "d"]);
    expect(tried).toEqual(["a", "c", "d"]); // b was skipped after a failed: never the one named
    expect(failed).toEqual([
      ["a", "provider_error"],
      ["c", "provider_rate_limited"],
    ]);
  });

  it("leave the last one's error to the call when none answered (it is counted once, with the call)", async () => {
    const plan = planFor("r2", ["a", "c"]);
    const { runner, failed } = runnerFor(plan, {
      a: { fail: "provider_error" },
      c: { fail: "provider_timeout", detail: "no first byte" },
    });
    await expect(
      runner.invoke("r2", INPUT, {}, new CallSignal().asAbortSignal(), () => {}),
    ).rejects.toMatchObject({ code: "provider_timeout" });
    expect(failed).toEqual([["a", "provider_error"]]);
  });
});

describe("a target whose account is disabled", () => {
  it("is not tried: the call ends with the error of the target that was (a 429 stays a 429)", async () => {
    const plan = planFor("r12", ["a", "b"]);
    const { runner, failed, called } = runnerFor(plan, {
      a: { fail: "provider_rate_limited", detail: "HTTP 429" },
      b: { disabled: true },
    });
    const tried: string[] = [];
    await expect(
      runner.invoke("r12", INPUT, {}, new CallSignal().asAbortSignal(), (account) => tried.push(account)),
    ).rejects.toMatchObject({ code: "provider_rate_limited" });
    expect(called).toEqual(["a"]);
    // a's failure is the call's own error (counted with the call), not one it went on from.
    expect(failed).toEqual([]);
    expect(tried.at(-1)).toBe("a"); // the usage record names the target whose error it carries
  });
});

describe("the first-byte timeout", () => {
  it("bounds a hanging target even when it is the route's only one", async () => {
    const plan = planFor("r3", ["a"], 50);
    const { runner } = runnerFor(plan, { a: { hang: true } });
    const started = Date.now();
    await expect(
      runner.invoke("r3", INPUT, {}, new CallSignal().asAbortSignal(), () => {}),
    ).rejects.toMatchObject({ code: "provider_timeout" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("goes on to the next target after a hang, and the caller leaving stops the attempt at once", async () => {
    const plan = planFor("r4", ["a", "b"], 50);
    const { runner, failed } = runnerFor(plan, { a: { hang: true }, b: { answer: "from b" } });
    const call = await runner.invoke("r4", INPUT, {}, new CallSignal().asAbortSignal(), () => {});
    call.finish();
    expect(call.account).toBe("b");
    expect(failed).toEqual([["a", "provider_timeout"]]);

    const leaving = new CallSignal();
    const { runner: other, failed: none } = runnerFor(planFor("r5", ["a", "b"], 60_000), {
      a: { hang: true },
      b: { answer: "from b" },
    });
    const pending = other.invoke("r5", INPUT, {}, leaving.asAbortSignal(), () => {});
    leaving.abort(new GatehouseError("client_closed", "the client went away"));
    await expect(pending).rejects.toMatchObject({ code: "client_closed" });
    expect(none).toEqual([]);
  });
});

describe("the caller's signal", () => {
  it("reaches the answering target's request until the call is finished, and no further", async () => {
    const { runner, signals } = runnerFor(planFor("r6", ["a"]), { a: { answer: "from a" } });
    const leaving = new CallSignal();
    const call = await runner.invoke("r6", INPUT, {}, leaving.asAbortSignal(), () => {});
    const upstream = signals[0] as AbortSignal;
    expect(upstream.aborted).toBe(false);
    leaving.abort(new GatehouseError("client_closed", "the client went away")); // mid-answer, e.g. a stream
    expect(upstream.aborted).toBe(true);
    expect(upstream.reason).toMatchObject({ code: "client_closed" });
    call.finish();

    const again = new CallSignal();
    const done = await runner.invoke("r6", INPUT, {}, again.asAbortSignal(), () => {});
    done.finish();
    again.abort(new GatehouseError("client_closed", "the client went away"));
    expect((signals[1] as AbortSignal).aborted).toBe(false);
    expect(runner.deadlines.size()).toBe(0);
  });

  it("stops an attempt at once when the caller left before it started", async () => {
    const left = new CallSignal();
    left.abort(new GatehouseError("client_closed", "the client went away"));
    const { runner, failed } = runnerFor(planFor("r7", ["a", "b"]), {
      a: { hang: true },
      b: { answer: "from b" },
    });
    await expect(runner.invoke("r7", INPUT, {}, left.asAbortSignal(), () => {})).rejects.toMatchObject({
      code: "client_closed",
    });
    expect(failed).toEqual([]);
    expect(runner.health.inflight("a/gpt")).toBe(0);
  });
});

describe("the caller leaving between attempts", () => {
  it("starts no further target, even one whose account was being read when it left", async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { runner, called } = runnerFor(
      planFor("r8", ["a", "b"]),
      { a: { fail: "provider_error" }, b: { answer: "from b" } },
      { accounts: new Set(["b"]), gate },
    );
    const leaving = new CallSignal();
    const pending = runner.invoke("r8", INPUT, {}, leaving.asAbortSignal(), () => {});
    await new Promise((r) => setImmediate(r)); // a failed; b's account is being read
    leaving.abort(new GatehouseError("client_closed", "the client went away"));
    open();
    await expect(pending).rejects.toMatchObject({ code: "client_closed" });
    expect(called).toEqual(["a"]);
    expect(runner.health.inflight("b/gpt")).toBe(0);
    expect(runner.deadlines.size()).toBe(0);
  });
});

describe("which failures fall back", () => {
  const cases: [string, Script, boolean][] = [
    ["a 5xx", { fail: "provider_error", detail: "upstream status 503: busy" }, true],
    ["a refused connection", { fail: "provider_error", detail: "ECONNREFUSED: connect" }, true],
    ["a 429", { fail: "provider_rate_limited", detail: "upstream status 429" }, true],
    ["the provider's own timeout", { fail: "provider_timeout" }, true],
    ["refused credentials", { fail: "provider_auth_failed" }, true],
    ["a 4xx of the target's", { fail: "provider_invalid_request", detail: "upstream status 400" }, false],
  ];
  for (const [what, script, fallsBack] of cases) {
    it(`${what}: ${fallsBack ? "the next target answers" : "the call ends with it"}`, async () => {
      const { runner, called } = runnerFor(planFor("r9", ["a", "b"]), { a: script, b: { answer: "from b" } });
      const call = runner.invoke("r9", INPUT, {}, new CallSignal().asAbortSignal(), () => {});
      if (fallsBack) {
        const answered = await call;
        answered.finish();
        expect(answered.account).toBe("b");
      } else await expect(call).rejects.toMatchObject({ code: "provider_invalid_request" });
      expect(called).toEqual(fallsBack ? ["a", "b"] : ["a"]);
    });
  }
});

describe("a routed call once it is over", () => {
  it("leaves no deadline, busy count or link to the caller's signal behind, however it ended", async () => {
    const plan = planFor("r10", ["a", "b", "c"], 20);
    const { runner } = runnerFor(plan, {
      a: { fail: "provider_error" },
      b: { hang: true },
      c: { answer: "from c" },
    });
    const signals: CallSignal[] = [];
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const signal = new CallSignal();
      signals.push(signal);
      const call = runner.invoke("r10", INPUT, {}, signal.asAbortSignal(), () => {});
      // Every third caller leaves while b hangs; the others get c's answer once b timed out.
      if (i % 3 === 0) setTimeout(() => signal.abort(new GatehouseError("client_closed", "gone")), 5);
      calls.push(
        call.then(
          (c) => c.finish(),
          () => undefined,
        ),
      );
    }
    await Promise.all(calls);
    expect(runner.deadlines.size()).toBe(0);
    for (const id of ["a/gpt", "b/gpt", "c/gpt"]) expect(runner.health.inflight(id)).toBe(0);
    expect(signals.every((s) => s.follower === undefined)).toBe(true);
  });
});

describe("a cooled-down target's probe", () => {
  it("is one call: the others go on skipping the target while it is on its way", async () => {
    let now = 0;
    const plan = planFor("r11", ["a", "b"]);
    const { runner: scripted, called } = runnerFor(plan, { a: { hang: true }, b: { answer: "from b" } });
    const runner = new RouteRunner(scripted.plans, scripted.clients, undefined, new TargetHealth(() => now));
    runner.health.failed(breakerKey("r11", "a/gpt"), 1, 1_000);
    now = 1_000;
    const probe = new CallSignal();
    const probing = runner.invoke("r11", INPUT, {}, probe.asAbortSignal(), () => {});
    const others = await Promise.all(
      Array.from({ length: 10 }, () =>
        runner.invoke("r11", INPUT, {}, new CallSignal().asAbortSignal(), () => {}),
      ),
    );
    for (const call of others) call.finish();
    expect(others.every((c) => c.account === "b")).toBe(true);
    expect(called.filter((a) => a === "a")).toHaveLength(1);
    probe.abort(new GatehouseError("client_closed", "gone"));
    await expect(probing).rejects.toMatchObject({ code: "client_closed" });
    expect(runner.health.admit(breakerKey("r11", "a/gpt"))).toBe("probe"); // given back, not lost
  });
});

describe("a route whose every target is open", () => {
  it("lets one call at a time probe each target; the calls meanwhile are refused at once, not sent", async () => {
    const plan = planFor("r12", ["a", "b"]);
    const { runner: scripted, called } = runnerFor(plan, { a: { hang: true }, b: { hang: true } });
    const runner = new RouteRunner(scripted.plans, scripted.clients, undefined, new TargetHealth(() => 0));
    for (const target of ["a/gpt", "b/gpt"]) runner.health.failed(breakerKey("r12", target), 1, 60_000);
    const signals = Array.from({ length: 10 }, () => new CallSignal());
    const outcomes = signals.map((signal) =>
      runner
        .invoke("r12", INPUT, {}, signal.asAbortSignal(), () => {})
        .then(
          (call) => {
            call.finish();
            return "answered";
          },
          (err: GatehouseError) => err.code,
        ),
    );
    await new Promise((r) => setImmediate(r));
    // Still cooling down, both: one probe each, the other eight calls refused without a try.
    expect([...called].sort()).toEqual(["a", "b"]);
    for (const signal of signals) signal.abort(new GatehouseError("client_closed", "gone"));
    const ended = await Promise.all(outcomes);
    expect(ended.filter((o) => o === "provider_error")).toHaveLength(8);
    expect(ended.filter((o) => o === "client_closed")).toHaveLength(2);
    // The probes the leaving callers held were given back: the next call probes again.
    const next = new CallSignal();
    const again = runner.invoke("r12", INPUT, {}, next.asAbortSignal(), () => {});
    await new Promise((r) => setImmediate(r));
    expect(called).toHaveLength(3);
    next.abort(new GatehouseError("client_closed", "gone"));
    await expect(again).rejects.toMatchObject({ code: "client_closed" });
  });
});

describe("an open route's probe is given back however it ends", () => {
  const outcome = (p: Promise<{ finish(): void }>) =>
    p.then(
      (call) => {
        call.finish();
        return "answered";
      },
      (err: GatehouseError) => err.code,
    );

  it("when it times out: the next call probes again (a single-target route is never refused for good)", async () => {
    const plan = planFor("r14", ["a"], 30);
    const { runner: scripted, called } = runnerFor(plan, { a: { hang: true } });
    const runner = new RouteRunner(scripted.plans, scripted.clients, undefined, new TargetHealth(() => 0));
    runner.health.failed(breakerKey("r14", "a/gpt"), 1, 60_000);
    const first = [0, 1, 2].map(() =>
      outcome(runner.invoke("r14", INPUT, {}, new CallSignal().asAbortSignal(), () => {})),
    );
    expect(await Promise.all(first)).toEqual(["provider_timeout", "provider_error", "provider_error"]);
    expect(called).toEqual(["a"]);
    expect(await outcome(runner.invoke("r14", INPUT, {}, new CallSignal().asAbortSignal(), () => {}))).toBe(
      "provider_timeout",
    );
    expect(called).toEqual(["a", "a"]);
  });

  it("when its account read is given up (a database that hangs): the next call probes again", async () => {
    const plan = planFor("r15", ["a"]);
    const gate = new Promise<void>(() => {});
    const { runner: scripted, called } = runnerFor(
      plan,
      { a: { answer: "ok" } },
      { accounts: new Set(["a"]), gate },
    );
    const runner = new RouteRunner(
      scripted.plans,
      scripted.clients,
      undefined,
      new TargetHealth(() => 0),
      undefined,
      20,
    );
    runner.health.failed(breakerKey("r15", "a/gpt"), 1, 60_000);
    const signal = () => new CallSignal().asAbortSignal();
    const both = [
      outcome(runner.invoke("r15", INPUT, {}, signal(), () => {})),
      outcome(runner.invoke("r15", INPUT, {}, signal(), () => {})),
    ];
    expect(await Promise.all(both)).toEqual(["service_unavailable", "provider_error"]);
    expect(await outcome(runner.invoke("r15", INPUT, {}, signal(), () => {}))).toBe("service_unavailable");
    expect(called).toEqual([]);
  });
});

describe("a read the call waits on", () => {
  it("that does not answer (a database that hangs) is given up with a retryable 503, plan or account", async () => {
    const plan = planFor("r13", ["a"]);
    const { runner: scripted } = runnerFor(plan, { a: { answer: "from a" } });
    const never = new Promise<never>(() => {});
    const hangingPlans = { peek: () => undefined, get: () => never } as unknown as RoutePlans;
    const noPlan = new RouteRunner(hangingPlans, scripted.clients, undefined, undefined, undefined, 30);
    await expect(
      noPlan.invoke("r13", INPUT, {}, new CallSignal().asAbortSignal(), () => {}),
    ).rejects.toMatchObject({ code: "service_unavailable", retryAfterSeconds: 1 });

    const hangingClients = { peek: () => undefined, get: () => never } as unknown as ProviderClients;
    const noAccount = new RouteRunner(scripted.plans, hangingClients, undefined, undefined, undefined, 30);
    await expect(
      noAccount.invoke("r13", INPUT, {}, new CallSignal().asAbortSignal(), () => {}),
    ).rejects.toMatchObject({ code: "service_unavailable", retryAfterSeconds: 1 });
    expect(noAccount.health.inflight("a/gpt")).toBe(0);
  });
});
