import { captureLogger } from "@gatehouse/testkit";
import type { FastifyBaseLogger } from "fastify";
import { describe, expect, it, vi } from "vitest";
import { lazyChildLoggerFactory } from "./request-logger.js";

describe("the per-request logger", () => {
  it("makes no child logger for lines below the level", () => {
    const { logger, lines } = captureLogger("ingress", "warn");
    const child = vi.spyOn(logger, "child");
    const log = lazyChildLoggerFactory(logger as unknown as FastifyBaseLogger, { reqId: "r-1" }, {});
    log.info("not written");
    log.debug({ x: 1 }, "not written either");
    expect(child).not.toHaveBeenCalled();
    expect(lines).toHaveLength(0);
    expect(log.level).toBe("warn");
  });

  it("writes enabled lines with the request's bindings, through one child", () => {
    const { logger, lines } = captureLogger("ingress", "info");
    const child = vi.spyOn(logger, "child");
    const log = lazyChildLoggerFactory(logger as unknown as FastifyBaseLogger, { reqId: "r-2" }, {});
    log.warn({ code: "x" }, "first");
    log.info("second");
    expect(child).toHaveBeenCalledTimes(1);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toMatchObject([
      { reqId: "r-2", code: "x", msg: "first", service: "ingress" },
      { reqId: "r-2", msg: "second" },
    ]);
  });

  it("keeps redaction and nested children", () => {
    const { logger, text } = captureLogger("ingress", "info");
    const log = lazyChildLoggerFactory(logger as unknown as FastifyBaseLogger, { reqId: "r-3" }, {});
    log.child({ component: "x" }).error({ authorization: "Bearer gatehouse_pat_secret" }, "nested");
    expect(text()).toContain('"component":"x"');
    expect(text()).toContain('"reqId":"r-3"');
    expect(text()).not.toContain("gatehouse_pat_secret");
  });
});
