import { describe, expect, it } from "vitest";
import { boundedInt, envOption, listOption, option, repeated } from "./cli.js";

describe("bench command-line options", () => {
  const argv = ["node", "x.js", "--shape=separate", "--env=A=1", "--env=B=x=y", "--env=bad", "--rounds=7"];

  it("reads a value, or the fallback", () => {
    expect(option("shape", "one", argv)).toBe("separate");
    expect(option("load", "small", argv)).toBe("small");
  });

  it("bounds integers and names the option when out of range", () => {
    expect(boundedInt("rounds", 3, 1, 10, argv)).toBe(7);
    expect(boundedInt("seconds", 3, 1, 10, argv)).toBe(3);
    expect(() => boundedInt("rounds", 3, 1, 5, argv)).toThrow("--rounds must be an integer from 1 to 5");
  });

  it("collects repeated options and NAME=VALUE pairs (the value may hold '=')", () => {
    expect(repeated("env", argv)).toEqual(["A=1", "B=x=y", "bad"]);
    expect(envOption("env", argv)).toEqual({ A: "1", B: "x=y" });
  });

  it("reads a comma list of known values, each once, or the fallback", () => {
    const known = ["tracing", "sampled", "unsampled", "logs"] as const;
    const list = (arg: string) => listOption("settings", known, ["tracing"], ["node", "x.js", arg]);
    expect(list("--settings=unsampled,tracing")).toEqual(["unsampled", "tracing"]);
    expect(list("--settings= logs , sampled")).toEqual(["logs", "sampled"]);
    expect(list("--rounds=3")).toEqual(["tracing"]);
    const message =
      "--settings must be a comma list of tracing, sampled, unsampled, logs (each at most once)";
    expect(() => list("--settings=tracing,bogus")).toThrow(message);
    expect(() => list("--settings=tracing,tracing")).toThrow(message);
    expect(() => list("--settings=")).toThrow(message);
    expect(() => list("--settings=tracing,")).toThrow(message);
  });
});
