import { GatehouseError } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { supportsOperation } from "../../src/index.js";
import { CASES, collectFrames, openAIPayloads, rejection, signal, useProvider } from "./cases.js";

describe.each(CASES)("$type: embeddings and completions", (c) => {
  const ctx = useProvider(c);

  it("declares the same operations the conformance list claims", () => {
    expect(supportsOperation(c.type, "chat")).toBe(true);
    expect(supportsOperation(c.type, "embeddings")).toBe(c.caps.embeddings);
    expect(supportsOperation(c.type, "completions")).toBe(c.caps.completions);
  });

  it.runIf(c.caps.embeddings)("embeds one and many inputs as an OpenAI list", async () => {
    for (const input of ["hello world", ["a", "b", "c"]]) {
      const result = await ctx
        .client()
        .invoke(
          { operation: "embeddings", dialect: "openai", model: c.model, body: { input }, stream: false },
          signal(),
        );
      if (result.kind !== "json") throw new Error("expected json");
      const body = result.body as { object: string; data: Array<{ index: number; embedding: number[] }> };
      expect(body.object).toBe("list");
      expect(body.data).toHaveLength(Array.isArray(input) ? 3 : 1);
      expect(body.data[0]?.embedding.length).toBeGreaterThan(0);
    }
  });

  it.runIf(!c.caps.embeddings)("refuses embeddings with invalid_request", async () => {
    const error = await rejection(
      ctx
        .client()
        .invoke(
          { operation: "embeddings", dialect: "openai", model: c.model, body: { input: "x" }, stream: false },
          signal(),
        ),
    );
    expect(error).toBeInstanceOf(GatehouseError);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toBe("operation not supported by this provider account");
  });

  it.runIf(c.caps.completions)("completes text, streamed and not", async () => {
    const json = await ctx.client().invoke(
      {
        operation: "completions",
        dialect: "openai",
        model: c.model,
        body: { prompt: "Once upon" },
        stream: false,
      },
      signal(),
    );
    if (json.kind !== "json") throw new Error("expected json");
    expect((json.body as { object: string }).object).toBe("text_completion");
    expect(json.usage?.totalTokens).toBeGreaterThan(0);
    const stream = await ctx.client().invoke(
      {
        operation: "completions",
        dialect: "openai",
        model: c.model,
        body: { prompt: "Once upon" },
        stream: true,
      },
      signal(),
    );
    const payloads = openAIPayloads(await collectFrames(stream));
    expect(payloads.length).toBeGreaterThan(1);
    if (stream.kind === "stream") expect(stream.usage()?.totalTokens).toBeGreaterThan(0);
  });

  it.runIf(!c.caps.completions)("refuses completions with invalid_request", async () => {
    const error = await rejection(
      ctx.client().invoke(
        {
          operation: "completions",
          dialect: "openai",
          model: c.model,
          body: { prompt: "x" },
          stream: false,
        },
        signal(),
      ),
    );
    expect(error.code).toBe("invalid_request");
  });
});
