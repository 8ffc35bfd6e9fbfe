import { describe, expect, it } from "vitest";
import { parseModelRef } from "./model-ref.js";

describe("parseModelRef", () => {
  it("splits at the first slash; the model part keeps its own slashes", () => {
    expect(parseModelRef("together-main/meta-llama/Llama-3-70b")).toEqual({
      account: "together-main",
      model: "meta-llama/Llama-3-70b",
    });
    expect(parseModelRef("openai-main/gpt-4o-mini")).toEqual({
      account: "openai-main",
      model: "gpt-4o-mini",
    });
  });

  it("treats dot segments after the account as part of the model name (never as a path)", () => {
    // The account is still `a`; `../b` is then not a listed model, so authorizeModel answers 404.
    expect(parseModelRef("a/../b")).toEqual({ account: "a", model: "../b" });
  });

  it.each([
    "gpt-4o",
    "/gpt-4o",
    "openai-main/",
    "../x/gpt",
    "OpenAI-Main/gpt-4o",
    "\u043epenai-main/gpt",
    ".openai/x",
    "open.ai/x",
  ])("refuses %s", (value) => {
    expect(parseModelRef(value)).toBeUndefined();
  });
});
