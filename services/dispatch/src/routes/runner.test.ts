import { type ErrorCode, type FallbackOn, GatehouseError } from "@gatehouse/contracts";
import type { InvokeResult, ProviderAccount, ProviderClient } from "@gatehouse/providers";
import { describe, expect, it } from "vitest";
import type { LoadedAccount, ProviderClients } from "../invoke/clients.js";
import { CallSignal } from "../invoke/controls.js";
import { breakerKey } from "./health.js";
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
function runnerFor(plan: RoutePlan, scripts: Record<string, Script>) {
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
    peek: (name: string) => entries.get(name),
    get: async (name: string) => entries.get(name),
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
    expect(tried).toEqual(["a", "b", "c", "d"]);
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
