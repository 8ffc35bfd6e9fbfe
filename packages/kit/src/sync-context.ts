import { type Context, type ContextManager, ROOT_CONTEXT } from "@opentelemetry/api";

/**
 * An OpenTelemetry context manager whose active context lasts for the synchronous part of
 * `context.with(ctx, fn)` only: it does not follow `await`s or callbacks. The SDK's default
 * (AsyncLocalStorage) follows them, but on Node 20 and 22 it does so through promise hooks that
 * slow every promise in the process, traced or not: in `pnpm bench` that alone took a third of
 * c=64 throughput. Gatehouse instead carries a request's context explicitly where it crosses an
 * await (ingress's `request.traceContext`, the transport capturing its parent before retrying), and
 * starts its bus calls and upstream requests in the synchronous part of a `with`.
 */
export class SynchronousContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

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
    this.current = ROOT_CONTEXT;
    return this;
  }
}
