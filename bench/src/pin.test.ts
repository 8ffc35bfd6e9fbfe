import { describe, expect, it } from "vitest";
import { parseCpuList, pinPlan } from "./pin.js";

describe("CPU pinning", () => {
  it("reads taskset's CPU lists", () => {
    expect(parseCpuList("0-3,6\n")).toEqual([0, 1, 2, 3, 6]);
    expect(parseCpuList(" 1")).toEqual([1]);
    expect(() => parseCpuList("3-1")).toThrow("not a CPU list");
  });

  it("gives the measured process the last allowed CPU and the helpers the rest", () => {
    expect(pinPlan("0,1")).toEqual({ measured: "1", helpers: "0", all: "0,1" });
    expect(pinPlan("2-5")).toEqual({ measured: "5", helpers: "2,3,4", all: "2,3,4,5" });
    expect(pinPlan("3")).toBe("one CPU: nothing to pin apart");
  });
});
