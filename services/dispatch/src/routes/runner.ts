import { type ErrorCode, type FallbackOn, GatehouseError, type InvokeMeta } from "@gatehouse/contracts";
import { type InvokeInput, type InvokeResult, NOT_CANCELLABLE } from "@gatehouse/providers";
import type { LoadedAccount, ProviderClients } from "../invoke/clients.js";
import { CallSignal } from "../invoke/controls.js";
import { TargetHealth } from "./health.js";
import type { RoutePlans } from "./plans.js";
import type { RoutePlan } from "./store.js";

type Target = RoutePlan["targets"][number];

/** What a routed call sends every target (the model is each target's own; routes refuse the Responses API). */
type RouteInput = Omit<InvokeInput, "model" | "responses">;

/** A routed call once a target answered: the answer, and who gave it. */
export interface RoutedCall {
  account: string;
  model: string;
  /** `<account>/<model>`, as the target frame names it. */
  readonly targetId: string;
  /** The answering account as it was loaded for the call (its prices price the usage record). */
  loaded: LoadedAccount;
  result: InvokeResult;
  /** The call is over; `err` when it failed after the first byte (it counts against the target). */
  finish(err?: unknown): void;
}

/** A target's failure before its first byte that the call went on from (it is not the call's own error). */
export type AttemptFailed = (account: string, code: ErrorCode) => void;

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

/** The first-byte timer fired: the attempt is aborted with the route's timeout. */
function firstByteTimedOut(attempt: Attempt): void {
  attempt.signal.abort(
    new GatehouseError(
      "provider_timeout",
      `the provider for account ${attempt.target.account} did not answer in time`,
      { detail: `no first byte within the route's ${attempt.plan.firstByteTimeoutMs} ms` },
    ),
  );
}

/**
 * One target's try, and once it answered, the routed call itself (the object is the `RoutedCall`:
 * one allocation per attempt rather than a closure per step). Its own signal, so the first-byte
 * timer can stop this target without touching the call's; the call's cancel reaches it through
 * one listener.
 */
class Attempt implements RoutedCall {
  readonly signal = new CallSignal();
  readonly account: string;
  readonly model: string;
  result!: InvokeResult;
  private readonly timer: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly health: TargetHealth,
    readonly plan: RoutePlan,
    readonly target: Target,
    readonly loaded: LoadedAccount,
    private readonly callSignal: AbortSignal,
  ) {
    this.account = target.account;
    this.model = target.model;
    health.enter(target.id);
    if (callSignal !== NOT_CANCELLABLE)
      callSignal.addEventListener("abort", this.onCallAbort, { once: true });
    // The error is made only when the timer fires: an Error's stack trace is not free.
    this.timer = setTimeout(firstByteTimedOut, plan.firstByteTimeoutMs, this);
  }

  private readonly onCallAbort = (): void => this.signal.abort(this.callSignal.reason);

  get targetId(): string {
    return this.target.id;
  }

  /** The target produced its first byte: the timer has done its part, and the target is healthy. */
  answered(result: InvokeResult): this {
    clearTimeout(this.timer);
    this.health.succeeded(this.target.breaker);
    this.result = result;
    return this;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    if (this.callSignal !== NOT_CANCELLABLE) this.callSignal.removeEventListener("abort", this.onCallAbort);
    this.health.leave(this.target.id);
  }

  finish(err?: unknown): void {
    this.end();
    const kind = err instanceof GatehouseError ? failureClass(err) : undefined;
    if (kind && kind !== "invalid_request" && !this.callSignal.aborted) {
      this.health.failed(this.target.breaker, this.plan.failureThreshold, this.plan.cooldownMs);
    }
  }

  /**
   * The target failed before its first byte: what the call does next (throws when the caller left —
   * nothing to fall back for). Counts against the target's breaker when the failure is its own.
   */
  failed(err: unknown): { error: GatehouseError; fallback: boolean } {
    this.end();
    const { health, target, plan } = this;
    if (this.callSignal.aborted) {
      health.released(target.breaker);
      throw this.callSignal.reason ?? err;
    }
    const error =
      err instanceof GatehouseError
        ? err
        : new GatehouseError("provider_error", `could not reach the provider for account ${target.account}`, {
            cause: err,
          });
    const kind = failureClass(error);
    if (kind !== undefined && kind !== "invalid_request") {
      const retryAfterMs =
        error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1_000;
      health.failed(target.breaker, plan.failureThreshold, plan.cooldownMs, retryAfterMs);
    } else health.released(target.breaker);
    return { error, fallback: kind !== undefined && plan.fallbackOn.has(kind) };
  }
}

/**
 * Runs a route: its targets in the strategy's order, skipping those whose breaker is open, going on
 * to the next on the failures the route names — but only until a target produced the first byte of
 * its answer (the whole answer when not streaming, the first event of a stream). From then on the
 * call belongs to that target, whatever happens. Routed calls use clients that do not retry: the
 * next target is the retry. A failure the call went on from is reported to `attemptFailed` (the
 * upstream error metrics); the call's own error, if it ends in one, is the caller's to count.
 *
 * The hot path (a cached plan, a cached account, the first target answering) awaits nothing but the
 * provider: plan and client are read synchronously when cached, and one async function runs it all.
 */
export class RouteRunner {
  constructor(
    private readonly plans: RoutePlans,
    private readonly clients: ProviderClients,
    private readonly attemptFailed?: AttemptFailed,
    readonly health: TargetHealth = new TargetHealth(),
  ) {}

  async invoke(
    name: string,
    input: RouteInput,
    signal: AbortSignal,
    tried: (account: string, model: string) => void,
  ): Promise<RoutedCall> {
    const plan = this.plans.peek(name) ?? (await this.plans.get(name));
    if (!plan) throw new GatehouseError("model_not_found", `route '${name}' does not exist`);
    const { health } = this;
    let last: { error: GatehouseError; target: Target; reachedProvider: boolean } | undefined;
    let firstSkipped: Target | undefined;
    let attempted = false;
    const order = health.order(plan.strategy, plan.targets);
    // Past the listed targets: every one was skipped, and the call tries the first anyway (below).
    for (let i = 0; i <= order.length; i++) {
      let target = order[i];
      if (target === undefined) {
        // Every target is cooling down: rather than refuse on the breakers' word alone, try the first.
        if (attempted || firstSkipped === undefined) break;
        target = firstSkipped;
      } else if (health.admit(target.breaker) === "open") {
        firstSkipped ??= target;
        continue;
      }
      // The call goes on from the last failure: it is not the call's error, so it is counted here.
      if (last?.reachedProvider) this.attemptFailed?.(last.target.account, last.error.code);
      attempted = true;
      tried(target.account, target.model);
      let got: Awaited<ReturnType<ProviderClients["get"]>>;
      try {
        got = this.clients.peek(target.account, true) ?? (await this.clients.get(target.account, true));
      } catch (err) {
        health.released(target.breaker);
        throw err;
      }
      if (!got?.loaded.enabled) {
        // Not the target's fault (an admin took the account away): skipped, not counted — and a
        // probe it may have claimed is given back, or the target would stay skipped for good.
        health.released(target.breaker);
        last = {
          error: new GatehouseError("provider_error", `no target of route '${plan.name}' could answer`, {
            detail: `account ${target.account} is disabled or gone`,
          }),
          target,
          reachedProvider: false,
        };
        continue;
      }
      // A CallSignal, not an AbortController: the latter (with undici listening to it) cost ~9 % of
      // c=64 throughput (see invoke/controls.ts).
      const attempt = new Attempt(health, plan, target, got.loaded, signal);
      try {
        const result = await got.client.invoke(
          {
            operation: input.operation,
            dialect: input.dialect,
            model: target.model,
            body: input.body,
            stream: input.stream,
          },
          attempt.signal.asAbortSignal(),
        );
        if (result.kind === "json") return attempt.answered(result);
        const frames = result.frames[Symbol.asyncIterator]();
        return attempt.answered({ ...result, frames: prepend(await frames.next(), frames) });
      } catch (err) {
        const outcome = attempt.failed(err);
        if (!outcome.fallback) throw outcome.error;
        last = { error: outcome.error, target, reachedProvider: true };
      }
    }
    throw (
      last?.error ??
      new GatehouseError("provider_error", `no target of route '${name}' is available`, {
        detail: "every target's account is gone, disabled or lacks the model",
      })
    );
  }
}

/**
 * `dispatch.invoke` for a route: the invoke envelope names the route, never a target. The caller
 * sends the answering target to ingress (`writer.target(call.targetId)`, for `x-gatehouse-target`)
 * before any of its answer. Not an async function: the hot path adds no promise of its own.
 */
export function runRoute(
  runner: RouteRunner,
  route: string,
  meta: InvokeMeta,
  body: Record<string, unknown>,
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
  return runner.invoke(route, input, signal, tried);
}
