import { createContextKey, ROOT_CONTEXT } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { SynchronousContextManager } from "./sync-context.js";

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
    expect(manager.active()).toBe(ROOT_CONTEXT);
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
});
