import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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

  it("keeps no value a later set of the same key replaced, however often a context is set in a loop", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const OTHER = createContextKey("other");
    let ctx = EMPTY_CONTEXT.setValue(OTHER, "kept");
    const firstRef = (() => {
      const first = { first: true };
      ctx = ctx.setValue(KEY, first);
      return new WeakRef(first);
    })();
    for (let i = 0; i < 10_000; i++) ctx = ctx.setValue(KEY, { i });
    // A WeakRef's target lives to the end of the task that read it: collect after it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(firstRef.deref()).toBeUndefined();
    expect([ctx.getValue(KEY), ctx.getValue(OTHER)]).toEqual([{ i: 9_999 }, "kept"]);
    expect(ctx.deleteValue(KEY).getValue(KEY)).toBeUndefined();
    // More keys than a chain holds before it is rebuilt: each still read, deleted, the parent unchanged.
    const keys = Array.from({ length: 40 }, (_, i) => createContextKey(`k${i}`));
    const many = keys.reduce((c, key, i) => c.setValue(key, i), ctx.deleteValue(OTHER));
    expect(keys.map((key) => many.getValue(key))).toEqual(keys.map((_, i) => i));
    const fewer = many.deleteValue(keys[3] as symbol).setValue(KEY, "again");
    expect([fewer.getValue(keys[3] as symbol), many.getValue(keys[3] as symbol)]).toEqual([undefined, 3]);
    expect([fewer.getValue(KEY), fewer.getValue(OTHER), fewer.getValue(keys[39] as symbol)]).toEqual([
      "again",
      undefined,
      39,
    ]);
  });
});
