import type { FrameWriter } from "@gatehouse/bus";
import { type FallbackOn, GatehouseError, type InvokeMeta } from "@gatehouse/contracts";
import { type InvokeInput, type InvokeResult, NOT_CANCELLABLE } from "@gatehouse/providers";
import type { ProviderClients } from "../invoke/clients.js";
import { CallSignal } from "../invoke/controls.js";
import { breakerKey, TargetHealth } from "./health.js";
import type { RoutePlans } from "./plans.js";
import type { RoutePlan } from "./store.js";

type Target = RoutePlan["targets"][number];

/** A routed call once a target answered: the answer, and who gave it. */
export interface RoutedCall {
  account: string;
  model: string;
  result: InvokeResult;
  /** The call is over; `err` when it failed after the first byte (it counts against the target). */
  finish(err?: unknown): void;
}

type Outcome = { call: RoutedCall } | { error: GatehouseError; fallback: boolean };

// Network failures carry the socket's code in their detail (see providers' networkError).
const NETWORK_DETAIL = /^(E[A-Z]+|UND_ERR_[A-Z_]+|unknown):/;

/** Which of the route's `fallbackOn` classes a failure is; `undefined`: never a reason to go on. */
export function failureClass(error: GatehouseError): FallbackOn | undefined {
  switch (error.code) {
    case "provider_timeout":
      return "timeout";
    case "provider_rate_limited":
      return "rate_limit";
    case "provider_auth_failed":
      return "auth";
    case "upstream_not_allowed":
      return "connect";
    case "provider_invalid_request":
      return "invalid_request";
    case "provider_error":
      return error.detail !== undefined && NETWORK_DETAIL.test(error.detail) ? "connect" : "server_error";
    default:
      return undefined;
  }
}

/** The stream with its first frame (already read, to know the target answered) put back in front. */
async function* prepend(first: IteratorResult<string>, rest: AsyncIterator<string>): AsyncGenerator<string> {
  try {
    if (first.done) return;
    yield first.value;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await rest.return?.();
  }
}

/**
 * Runs a route: its targets in the strategy's order, skipping those whose breaker is open, going on
 * to the next on the failures the route names — but only until a target produced the first byte of
 * its answer (the whole answer when not streaming, the first event of a stream). From then on the
 * call belongs to that target, whatever happens. Routed calls use clients that do not retry: the
 * next target is the retry.
 */
export class RouteRunner {
  constructor(
    private readonly plans: RoutePlans,
    private readonly clients: ProviderClients,
    readonly health: TargetHealth = new TargetHealth(),
  ) {}

  async invoke(
    name: string,
    input: Omit<InvokeInput, "model">,
    signal: AbortSignal,
    tried: (account: string, model: string) => void,
  ): Promise<RoutedCall> {
    const plan = await this.plans.get(name);
    if (!plan) throw new GatehouseError("model_not_found", `route '${name}' does not exist`);
    let last: GatehouseError | undefined;
    const skipped: Target[] = [];
    let attempts = 0;
    for (const target of this.health.order(plan.strategy, plan.targets)) {
      const admission = this.health.admit(breakerKey(plan.name, target.id));
      if (admission === "open") {
        skipped.push(target);
        continue;
      }
      attempts++;
      tried(target.account, target.model);
      const outcome = await this.attempt(plan, target, input, signal);
      if ("call" in outcome) return outcome.call;
      last = outcome.error;
      if (!outcome.fallback) throw last;
    }
    // Every target is cooling down: rather than refuse on the breakers' word alone, try the first.
    const first = skipped[0];
    if (attempts === 0 && first) {
      tried(first.account, first.model);
      const outcome = await this.attempt(plan, first, input, signal);
      if ("call" in outcome) return outcome.call;
      last = outcome.error;
    }
    throw (
      last ??
      new GatehouseError("provider_error", `no target of route '${name}' is available`, {
        detail: "every target's account is gone, disabled or lacks the model",
      })
    );
  }

  private async attempt(
    plan: RoutePlan,
    target: Target,
    input: Omit<InvokeInput, "model">,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const breaker = breakerKey(plan.name, target.id);
    let got: Awaited<ReturnType<ProviderClients["get"]>>;
    try {
      got = await this.clients.get(target.account, true);
    } catch (err) {
      this.health.released(breaker);
      throw err;
    }
    if (!got?.loaded.enabled) {
      // Not the target's fault (an admin took the account away): skipped, not counted — and a
      // probe it may have claimed is given back, or the target would stay skipped for good.
      this.health.released(breaker);
      return {
        error: new GatehouseError("provider_error", `no target of route '${plan.name}' could answer`, {
          detail: `account ${target.account} is disabled or gone`,
        }),
        fallback: true,
      };
    }
    const { health } = this;
    health.enter(target.id);
    // A CallSignal, not an AbortController: the latter (with undici listening to it) cost ~9 % of
    // c=64 throughput (see invoke/controls.ts).
    const attempt = new CallSignal();
    const onAbort = () => attempt.abort(signal.reason);
    const cancellable = signal !== NOT_CANCELLABLE;
    if (cancellable) signal.addEventListener("abort", onAbort, { once: true });
    // The error is made only when the timer fires: an Error's stack trace is not free.
    const timer = setTimeout(
      () =>
        attempt.abort(
          new GatehouseError(
            "provider_timeout",
            `the provider for account ${target.account} did not answer in time`,
            {
              detail: `no first byte within the route's ${plan.firstByteTimeoutMs} ms`,
            },
          ),
        ),
      plan.firstByteTimeoutMs,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      if (cancellable) signal.removeEventListener("abort", onAbort);
      health.leave(target.id);
    };
    try {
      let result = await got.client.invoke({ ...input, model: target.model }, attempt.asAbortSignal());
      if (result.kind === "stream") {
        const frames = result.frames[Symbol.asyncIterator]();
        result = { ...result, frames: prepend(await frames.next(), frames) };
      }
      clearTimeout(timer);
      health.succeeded(breaker);
      return {
        call: {
          account: target.account,
          model: target.model,
          result,
          finish: (err) => {
            end();
            const error = err instanceof GatehouseError ? err : undefined;
            const kind = error ? failureClass(error) : undefined;
            if (kind && kind !== "invalid_request" && !signal.aborted) {
              health.failed(breaker, plan.failureThreshold, plan.cooldownMs);
            }
          },
        },
      };
    } catch (err) {
      end();
      // The caller left (or ingress gave up): nothing to fall back for.
      if (signal.aborted) {
        health.released(breaker);
        throw signal.reason ?? err;
      }
      const error =
        err instanceof GatehouseError
          ? err
          : new GatehouseError(
              "provider_error",
              `could not reach the provider for account ${target.account}`,
              {
                cause: err,
              },
            );
      const kind = failureClass(error);
      if (kind !== undefined && kind !== "invalid_request") {
        const retryAfterMs =
          error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1_000;
        health.failed(breaker, plan.failureThreshold, plan.cooldownMs, retryAfterMs);
      } else health.released(breaker);
      return { error, fallback: kind !== undefined && plan.fallbackOn.has(kind) };
    }
  }
}

/**
 * `dispatch.invoke` for a route: the invoke envelope names the route, never a target, and the
 * target that answered goes to ingress (for `x-gatehouse-target`) before any of its answer.
 */
export async function runRoute(
  runner: RouteRunner,
  route: string,
  meta: InvokeMeta,
  body: Record<string, unknown>,
  writer: FrameWriter,
  signal: AbortSignal,
  tried: (account: string, model: string) => void,
): Promise<RoutedCall> {
  if (meta.operation === "responses") {
    // A stored response belongs to one account; a route could answer a continuation from another.
    throw new GatehouseError(
      "invalid_request",
      "the Responses API cannot be called through a route; name a '<provider-account>/<model>'",
    );
  }
  const input = { operation: meta.operation, dialect: meta.dialect, body, stream: meta.stream };
  const call = await runner.invoke(route, input, signal, tried);
  writer.target(`${call.account}/${call.model}`);
  return call;
}
