import { createContextKey, ROOT_CONTEXT } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { EMPTY_CONTEXT, SynchronousContextManager } from "./sync-context.js";

const KEY = createContextKey("test");

describe("the synchronous context manager", () => {
  it("makes a context active for the synchronous part of with(), nested, and restores it after a throw", () => {
    const manager = new SynchronousContextManager();
    const outer = ROOT_CONTEXT.setValue(KEY, "outer");
    const inner = ROOT_CONTEXT.setValue(KEY, "inner");
    manager.with(outer, () => {
      expect(manager.active().getValue(KEY)).toBe("outer");
      expect(() =>
        manager.with(inner, () => {
          expect(manager.active().getValue(KEY)).toBe("inner");
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(manager.active().getValue(KEY)).toBe("outer");
    });
    expect(manager.active()).toBe(EMPTY_CONTEXT);
  });

  it("does not follow an await (what crosses one is passed explicitly)", async () => {
    const manager = new SynchronousContextManager();
    const ctx = ROOT_CONTEXT.setValue(KEY, "request");
    const seen = await manager.with(ctx, async () => {
      const before = manager.active().getValue(KEY);
      await Promise.resolve();
      return [before, manager.active().getValue(KEY)];
    });
    expect(seen).toEqual(["request", undefined]);
  });

  it("binds a function to a context", () => {
    const manager = new SynchronousContextManager();
    const ctx = ROOT_CONTEXT.setValue(KEY, "bound");
    const bound = manager.bind(ctx, (x: number) => [x, manager.active().getValue(KEY)]);
    expect(bound(1)).toEqual([1, "bound"]);
    expect(manager.bind(ctx, 5)).toBe(5);
  });

  it("derives contexts from EMPTY_CONTEXT as from the API's root: set, overridden, deleted, the parent unchanged", () => {
    const OTHER = createContextKey("other");
    const a = EMPTY_CONTEXT.setValue(KEY, 1);
    const b = a.setValue(OTHER, 2).setValue(KEY, 3);
    expect([a.getValue(KEY), a.getValue(OTHER)]).toEqual([1, undefined]);
    expect([b.getValue(KEY), b.getValue(OTHER)]).toEqual([3, 2]);
    const c = b.deleteValue(KEY);
    expect([c.getValue(KEY), c.getValue(OTHER), b.getValue(KEY)]).toEqual([undefined, 2, 3]);
    expect(EMPTY_CONTEXT.deleteValue(KEY)).toBe(EMPTY_CONTEXT);
    expect(EMPTY_CONTEXT.getValue(KEY)).toBeUndefined();
  });
});
