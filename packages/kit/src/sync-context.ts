import {
  type Context,
  type ContextManager,
  INVALID_SPAN_CONTEXT,
  type Span,
  type SpanContext,
  trace,
} from "@opentelemetry/api";

/**
 * A context as a chain of single entries: setting a value is one small object pointing at the
 * context it extends. The API's own (`ROOT_CONTEXT` and what derives from it) copies its whole Map and
 * makes three closures for every value set, and a traced call sets a few (the server span, the
 * remote parent dispatch continues, `dispatch.invoke` made active) that live as long as the call:
 * at c=64, garbage every young collection copies. Chains stay short (a call sets a handful of
 * values on the root), so a lookup walks a few links. A chain longer than `MAX_CHAIN` (a context
 * set again and again, in a loop) is rebuilt with each key's latest value only, as the API's Map
 * would hold: a value set over is let go, and a lookup stays a walk of a few links.
 */
class LinkedContext implements Context {
  constructor(
    private readonly parent: LinkedContext | undefined,
    private readonly key: symbol | undefined,
    private readonly value: unknown,
    private readonly depth: number,
  ) {}

  getValue(key: symbol): unknown {
    for (let c: LinkedContext | undefined = this; c !== undefined; c = c.parent)
      if (c.key === key) return c.value;
    return undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    const base = this.depth < MAX_CHAIN ? this : this.compacted(key);
    return new LinkedContext(base, key, value, base.depth + 1);
  }

  deleteValue(key: symbol): Context {
    // A later entry hides an earlier one: an entry of `undefined` reads as no value (as the API's does).
    return this.getValue(key) === undefined ? this : this.setValue(key, undefined);
  }

  /** This chain with each key's latest value once, oldest first, less `without` and keys without a value. */
  private compacted(without: symbol): LinkedContext {
    const seen = new Set<symbol>([without]);
    const kept: LinkedContext[] = [];
    for (let c: LinkedContext = this; c.key !== undefined && c.parent !== undefined; c = c.parent) {
      if (seen.has(c.key)) continue;
      seen.add(c.key);
      if (c.value !== undefined) kept.push(c);
    }
    let chain = ROOT;
    for (let i = kept.length - 1; i >= 0; i--) {
      const entry = kept[i] as LinkedContext;
      chain = new LinkedContext(chain, entry.key, entry.value, chain.depth + 1);
    }
    return chain;
  }
}

/** Entries in a chain before it is rebuilt (more than a call sets; the rebuild is rare). */
const MAX_CHAIN = 16;
const ROOT = new LinkedContext(undefined, undefined, undefined, 0);

/** The empty context Gatehouse derives its trace contexts from (the API's `ROOT_CONTEXT`, lighter). */
export const EMPTY_CONTEXT: Context = ROOT;

/** The API's non-recording span class (not exported by name): what `trace.wrapSpanContext` makes. */
const NonRecordingSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT).constructor as new (
  context: SpanContext,
) => Span;

/**
 * A span that records nothing and carries a span context known to be valid: an unsampled span of
 * Gatehouse's tracer (its ids are made valid), or a remote parent read by a parser that validates
 * (`contextFromCarrier` in the bus). As the API's non-recording span, except that the tracer starts a
 * child under it without checking the parent's ids again with regular expressions (once per call
 * at dispatch, sampled or not).
 */
export class PropagatedSpan extends NonRecordingSpan {}

/**
 * An OpenTelemetry context manager whose active context lasts for the synchronous part of
 * `context.with(ctx, fn)` only: it does not follow `await`s or callbacks. The SDK's default
 * (AsyncLocalStorage) follows them, but on Node 20 and 22 it does so through promise hooks that
 * slow every promise in the process, traced or not: in `pnpm bench` that alone took a third of
 * c=64 throughput. Gatehouse instead carries a request's context explicitly where it crosses an
 * await (ingress's `request.traceContext`, the transport capturing its parent before retrying), and
 * starts its bus calls and upstream requests in the synchronous part of a `with`. With nothing
 * active, the active context is `EMPTY_CONTEXT`.
 */
export class SynchronousContextManager implements ContextManager {
  private current: Context = EMPTY_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== "function") return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => this.with(context, fn, undefined, ...args)) as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = EMPTY_CONTEXT;
    return this;
  }
}
