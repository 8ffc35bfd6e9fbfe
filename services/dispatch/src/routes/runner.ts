import { type ErrorCode, type FallbackOn, GatehouseError, type InvokeMeta } from "@gatehouse/contracts";
import { type InvokeInput, type InvokeResult, NOT_CANCELLABLE } from "@gatehouse/providers";
import type { LoadedAccount, ProviderClients } from "../invoke/clients.js";
import { CallSignal } from "../invoke/controls.js";
import { Deadlines, type Due, type DueList } from "./deadlines.js";
import { TargetHealth } from "./health.js";
import type { RoutePlans } from "./plans.js";
import type { RoutePlan } from "./store.js";

type Target = RoutePlan["targets"][number];

/** What a routed call sends every target besides its body (the model is each target's own; routes refuse the Responses API). */
export type RouteInput = Pick<InvokeInput, "operation" | "dialect" | "stream">;

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

/**
 * How long a call waits on a read it needs before its first attempt (its route's plan, a target's
 * account, both from dispatch's database): a database whose connections hang, or that postgres.js
 * keeps reconnecting to, must not hold the caller for ingress's whole dispatch timeout.
 */
export const READ_WAIT_MS = 5_000;

/** `read`, or a retryable 503 once it took `ms` (the read itself goes on, for the calls after). */
export function boundedRead<T>(read: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new GatehouseError("service_unavailable", "the gateway could not read its configuration in time", {
          detail: `a database read took over ${ms} ms`,
          retryAfterSeconds: 1,
        }),
      );
    }, ms);
  });
  return Promise.race([read, gaveUp]).finally(() => clearTimeout(timer));
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

/** A routed call's answer once its target produced its first byte: a JSON answer, or a stream with its first frame. */
type Answered = RouteCall | Promise<RouteCall>;

/**
 * One attempt's cancel signal: aborted when the call's is (as its `follower`) or when the route's
 * first-byte deadline passes, which stops this target and not the call. It is also the item the
 * deadline is watched by (no timer of its own).
 */
class AttemptSignal extends CallSignal implements Due {
  dueAt = 0;
  dueList: DueList | undefined = undefined;
  prevDue: Due | undefined = undefined;
  nextDue: Due | undefined = undefined;

  constructor(private readonly call: RouteCall) {
    super();
  }

  expired(): void {
    // The error is made only now: an Error's stack trace is not free.
    this.abort(this.call.timedOut());
  }
}

/**
 * One routed call: where it is in its route's targets, and the attempt on its way. Everything a
 * routed call keeps while its target works is this object and its attempt's signal: at c=64 what
 * lives as long as a call is copied by the young-generation GC and often promoted, so a timer, a
 * listener closure and an async function's frame per call (~1.1 KB) cost more than running them
 * (`pnpm bench:routes -- --gc`). The steps are synchronous methods; the invoke handler awaits the
 * target's answer itself (see `RouteRunner.invoke` for the whole sequence).
 */
export class RouteCall implements RoutedCall {
  account = "";
  model = "";
  loaded!: LoadedAccount;
  result!: InvokeResult;
  /** The current attempt's answer, as the provider client gives it. */
  pending!: Promise<InvokeResult>;
  private target!: Target;
  /** The current attempt's signal; undefined once it ended. */
  private signal: AttemptSignal | undefined;
  /** Only for a call signal that is not a `CallSignal` (tests, other callers): its listener. */
  private onCallAbort: (() => void) | undefined;
  private readonly order: readonly Target[];
  private next = 0;
  private attempted = false;
  /** Some target was skipped as open (so, when none was attempted, every one was). */
  private skipped = false;
  private last: { error: GatehouseError; target: Target; reachedProvider: boolean } | undefined;

  constructor(
    private readonly runner: RouteRunner,
    readonly plan: RoutePlan,
    private readonly input: RouteInput,
    private readonly body: Record<string, unknown>,
    private readonly callSignal: AbortSignal,
    private readonly tried: (account: string, model: string) => void,
  ) {
    this.order = runner.health.order(plan.strategy, plan.targets);
  }

  get targetId(): string {
    return this.target.id;
  }

  /**
   * Starts the next target the call may try (`pending` is its answer): in the strategy's order,
   * skipping those whose breaker is open — and when every one was skipped, the first no other call
   * is probing, as its probe, rather than refuse on the breakers' word alone (when every one is
   * being probed, the call is refused). A promise when the target's account had to be read first.
   * Throws the call's error when no target is left.
   */
  tryNext(): undefined | Promise<void> {
    const { health } = this.runner;
    const order = this.order;
    while (this.next <= order.length) {
      let target = order[this.next++];
      if (target === undefined) {
        if (this.attempted || !this.skipped) break;
        target = order.find((t) => health.claimProbe(t.breaker));
        if (target === undefined) {
          throw new GatehouseError("provider_error", `no target of route '${this.plan.name}' is available`, {
            detail: "every target's breaker is open and each is being probed by another call",
          });
        }
      } else if (health.admit(target.breaker) === "open") {
        this.skipped = true;
        continue;
      }
      this.attempted = true;
      // The target the call's record names: this one, until a target failed — from then on only
      // one that is started (see `start`), so a skipped account never replaces a real failure.
      if (!this.last?.reachedProvider) this.tried(target.account, target.model);
      const got = this.runner.clients.peek(target.account, true);
      if (got === undefined) return this.load(target);
      if (this.start(target, got)) return undefined;
    }
    throw (
      this.last?.error ??
      new GatehouseError("provider_error", `no target of route '${this.plan.name}' is available`, {
        detail: "every target's account is gone, disabled or lacks the model",
      })
    );
  }

  private async load(target: Target): Promise<void> {
    let got: Awaited<ReturnType<ProviderClients["get"]>>;
    try {
      got = await boundedRead(this.runner.clients.get(target.account, true), this.runner.readWaitMs);
    } catch (err) {
      this.runner.health.released(target.breaker);
      throw err;
    }
    if (!this.start(target, got)) return this.tryNext();
  }

  /**
   * Calls `target`; false when its account is disabled or gone (skipped, and not counted against
   * it). Throws the caller's cancel when it already left.
   */
  private start(target: Target, got: Awaited<ReturnType<ProviderClients["get"]>>): boolean {
    const { health } = this.runner;
    const callSignal = this.callSignal;
    if (callSignal.aborted) {
      // The caller left while the plan or this target's account was read: nothing new is started
      // for it (the probe it may have claimed is given back).
      health.released(target.breaker);
      throw callSignal.reason;
    }
    if (!got?.loaded.enabled) {
      // Not the target's fault (an admin took the account away) — and a probe it may have claimed is
      // given back, or the target would stay skipped for good.
      health.released(target.breaker);
      // Not tried: a target that was stays the call's error (and what its record names).
      if (this.last?.reachedProvider) return false;
      this.last = {
        error: new GatehouseError("provider_error", `no target of route '${this.plan.name}' could answer`, {
          detail: `account ${target.account} is disabled or gone`,
        }),
        target,
        reachedProvider: false,
      };
      return false;
    }
    const last = this.last;
    if (last?.reachedProvider) {
      // The call goes on from the last failure: it is not the call's error, so it is counted here.
      this.runner.attemptFailed?.(last.target.account, last.error.code);
      this.tried(target.account, target.model);
    }
    this.target = target;
    this.account = target.account;
    this.model = target.model;
    this.loaded = got.loaded;
    health.enter(target.id);
    const signal = new AttemptSignal(this);
    this.signal = signal;
    if (callSignal instanceof CallSignal) callSignal.follower = signal;
    else if (callSignal !== NOT_CANCELLABLE) {
      this.onCallAbort = () => signal.abort(callSignal.reason);
      callSignal.addEventListener("abort", this.onCallAbort, { once: true });
    }
    this.runner.deadlines.add(signal, this.plan.firstByteTimeoutMs);
    const { input } = this;
    // A CallSignal, not an AbortController: the latter (with undici listening to it) cost ~9 % of
    // c=64 throughput (see invoke/controls.ts).
    this.pending = got.client.invoke(
      {
        operation: input.operation,
        dialect: input.dialect,
        model: target.model,
        body: this.body,
        stream: input.stream,
      },
      signal.asAbortSignal(),
    );
    return true;
  }

  /** The first-byte deadline passed: the error the attempt is aborted with. */
  timedOut(): GatehouseError {
    return new GatehouseError(
      "provider_timeout",
      `the provider for account ${this.target.account} did not answer in time`,
      { detail: `no first byte within the route's ${this.plan.firstByteTimeoutMs} ms` },
    );
  }

  /**
   * The current attempt's answer arrived. A JSON answer is the call's (synchronously); a stream is
   * once its first frame arrived — a promise, which goes on to the next targets if that frame fails.
   */
  answered(result: InvokeResult): Answered {
    if (result.kind === "json") return this.settle(result);
    return this.firstFrame(result);
  }

  private async firstFrame(result: Extract<InvokeResult, { kind: "stream" }>): Promise<RouteCall> {
    const frames = result.frames[Symbol.asyncIterator]();
    let first: IteratorResult<string>;
    try {
      first = await frames.next();
    } catch (err) {
      return this.fallback(err);
    }
    return this.settle({ ...result, frames: prepend(first, frames) });
  }

  /** The target produced its first byte: the deadline has done its part, and the target is healthy. */
  private settle(result: InvokeResult): this {
    if (this.signal) this.runner.deadlines.remove(this.signal);
    this.runner.health.succeeded(this.target.breaker);
    this.result = result;
    return this;
  }

  /**
   * The current attempt failed before its first byte: the next targets, in order, on the failures
   * the route names; rejects with the call's error (the caller's leaving, when it left).
   */
  async fallback(err: unknown): Promise<RouteCall> {
    let failure = err;
    for (;;) {
      const outcome = this.failed(failure);
      if (!outcome.fallback) throw outcome.error;
      this.last = { error: outcome.error, target: this.target, reachedProvider: true };
      const loading = this.tryNext();
      if (loading) await loading;
      let result: InvokeResult;
      try {
        result = await this.pending;
      } catch (next) {
        failure = next;
        continue;
      }
      return this.answered(result);
    }
  }

  /** The current attempt is over (its deadline, its link to the call's signal, its busy count). */
  private end(): void {
    const signal = this.signal;
    if (signal === undefined) return;
    this.signal = undefined;
    this.runner.deadlines.remove(signal);
    const callSignal = this.callSignal;
    if (callSignal instanceof CallSignal) {
      if (callSignal.follower === signal) callSignal.follower = undefined;
    } else if (this.onCallAbort) {
      callSignal.removeEventListener("abort", this.onCallAbort);
      this.onCallAbort = undefined;
    }
    this.runner.health.leave(this.target.id);
  }

  finish(err?: unknown): void {
    this.end();
    const kind = err instanceof GatehouseError ? failureClass(err) : undefined;
    if (kind && kind !== "invalid_request" && !this.callSignal.aborted) {
      this.runner.health.failed(this.target.breaker, this.plan.failureThreshold, this.plan.cooldownMs);
    }
  }

  /**
   * The current attempt failed before its first byte: what the call does next (throws when the
   * caller left — nothing to fall back for). Counts against the target's breaker when the failure is
   * its own.
   */
  private failed(err: unknown): { error: GatehouseError; fallback: boolean } {
    this.end();
    const { target, plan } = this;
    const { health } = this.runner;
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
 * Runs routes: a route's targets in the strategy's order, skipping those whose breaker is open,
 * going on to the next on the failures the route names — but only until a target produced the first
 * byte of its answer (the whole answer when not streaming, the first event of a stream). From then
 * on the call belongs to that target, whatever happens. Routed calls use clients that do not retry:
 * the next target is the retry. A failure the call went on from is reported to `attemptFailed` (the
 * upstream error metrics); the call's own error, if it ends in one, is the caller's to count.
 *
 * The hot path (a cached plan, a cached account, the first target answering) awaits nothing but the
 * provider: plan and client are read synchronously when cached, and the call's first attempt is
 * started synchronously by `start`.
 */
export class RouteRunner {
  constructor(
    readonly plans: RoutePlans,
    readonly clients: ProviderClients,
    readonly attemptFailed?: AttemptFailed,
    readonly health: TargetHealth = new TargetHealth(),
    /** The attempts' first-byte deadlines. */
    readonly deadlines: Deadlines = new Deadlines(),
    /** How long a call waits on its plan or a target's account being read (`READ_WAIT_MS`). */
    readonly readWaitMs = READ_WAIT_MS,
  ) {}

  /**
   * Starts a routed call: its first attempt is on its way (`pending`) when this returns — or, when
   * the plan or the target's account must be read first, when the promise resolves. Throws (or
   * rejects) with the call's error when there is no such route or no target to try.
   */
  start(
    name: string,
    input: RouteInput,
    body: Record<string, unknown>,
    signal: AbortSignal,
    tried: (account: string, model: string) => void,
  ): RouteCall | Promise<RouteCall> {
    const plan = this.plans.peek(name);
    if (plan === undefined)
      return boundedRead(this.plans.get(name), this.readWaitMs).then((loaded) =>
        this.begin(name, loaded, input, body, signal, tried),
      );
    return this.begin(name, plan, input, body, signal, tried);
  }

  private begin(
    name: string,
    plan: RoutePlan | undefined,
    input: RouteInput,
    body: Record<string, unknown>,
    signal: AbortSignal,
    tried: (account: string, model: string) => void,
  ): RouteCall | Promise<RouteCall> {
    if (!plan) throw new GatehouseError("model_not_found", `route '${name}' does not exist`);
    const call = new RouteCall(this, plan, input, body, signal, tried);
    const loading = call.tryNext();
    return loading === undefined ? call : loading.then(() => call);
  }

  /**
   * A whole routed call, to the target that answered (or the call's error). The invoke handler runs
   * these same steps itself, so that no promise of the runner's waits on the target with it.
   */
  async invoke(
    name: string,
    input: RouteInput,
    body: Record<string, unknown>,
    signal: AbortSignal,
    tried: (account: string, model: string) => void,
  ): Promise<RoutedCall> {
    const started = this.start(name, input, body, signal, tried);
    const call = started instanceof Promise ? await started : started;
    let answered: Answered;
    try {
      answered = call.answered(await call.pending);
    } catch (err) {
      answered = call.fallback(err);
    }
    return answered;
  }
}

/**
 * `dispatch.invoke` for a route: the invoke envelope names the route, never a target. Starts the
 * call's first attempt (see `RouteRunner.start`); the caller awaits its answer and sends the
 * answering target to ingress (`writer.target(call.targetId)`, for `x-gatehouse-target`) before any
 * of its answer.
 */
export function runRoute(
  runner: RouteRunner,
  route: string,
  meta: InvokeMeta,
  body: Record<string, unknown>,
  signal: AbortSignal,
  tried: (account: string, model: string) => void,
): RouteCall | Promise<RouteCall> {
  if (meta.operation === "responses") {
    // A stored response belongs to one account; a route could answer a continuation from another.
    throw new GatehouseError(
      "invalid_request",
      "the Responses API cannot be called through a route; name a '<provider-account>/<model>'",
    );
  }
  return runner.start(route, meta, body, signal, tried);
}
