import { InvokeMeta, MODEL_ID_MAX, MODEL_NAME_MAX, ModelName } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { checkShape } from "./shape.js";

const body = (model: string) => ({ model, messages: [{ role: "user", content: "hi" }] });

// One limit on a model's name, declared in contracts: the catalog, the invoke envelope and the
// caller's `<account>/<model>` (both names at their longest) all follow it.
describe("the model name's length", () => {
  it("accepts the longest account and model names together, and refuses one character more", () => {
    const longest = `${"a".repeat(63)}/${"m".repeat(MODEL_NAME_MAX)}`;
    expect(longest.length).toBe(MODEL_ID_MAX);
    expect(checkShape(body(longest), "chat").model).toBe(longest);
    expect(() => checkShape(body(`${longest}m`), "chat")).toThrow(/'model' is too long/);
  });

  it("is the same in the catalog and in the invoke envelope", () => {
    const name = "m".repeat(MODEL_NAME_MAX);
    expect(ModelName.safeParse(name).success).toBe(true);
    expect(ModelName.safeParse(`${name}m`).success).toBe(false);
    const meta = {
      account: "a",
      operation: "chat",
      dialect: "openai",
      stream: false,
      includeUsage: false,
      requestId: "r",
      principal: { id: "00000000-0000-4000-8000-000000000000", kind: "user" },
      keyId: "00000000-0000-4000-8000-000000000000",
    };
    expect(InvokeMeta.safeParse({ ...meta, model: name }).success).toBe(true);
    expect(InvokeMeta.safeParse({ ...meta, model: `${name}m` }).success).toBe(false);
  });
});
