import { describe, expect, it } from "vitest";
import { estimateUsage, StreamTally } from "./estimate.js";

const openAIChunk = (content: string) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })}\n\n`;

describe("estimateUsage", () => {
  it("counts an OpenAI-family stream with its own tokenizer, prompt from the body", async () => {
    const tally = new StreamTally();
    for (const word of ["Hello", " world", "!"]) tally.add(openAIChunk(word));
    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello to the world" }] };
    const usage = await estimateUsage("gpt-4o-mini", body, tally);
    // o200k_base: "Hello world!" is 3 tokens, "Say hello to the world" is 5.
    expect(usage).toEqual({ promptTokens: 5, completionTokens: 3, totalTokens: 8 });
  });

  it("counts other models as UTF-8 bytes / 4, Anthropic events included", async () => {
    const tally = new StreamTally();
    const event = { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "abcdefgh" } };
    tally.add(`event: content_block_delta\ndata: ${JSON.stringify(event)}\n\n`);
    const body = {
      system: "abcd",
      messages: [{ role: "user", content: [{ type: "text", text: "abcdefg" }] }],
    };
    const usage = await estimateUsage("claude-sonnet-4", body, tally);
    expect(usage.completionTokens).toBe(2);
    expect(usage.promptTokens).toBe(Math.ceil("abcd\nabcdefg".length / 4));
  });

  it("does not count a Responses summary event's text again", async () => {
    const tally = new StreamTally();
    tally.add(`data: ${JSON.stringify({ type: "response.output_text.delta", delta: "abcd" })}\n\n`);
    tally.add(`data: ${JSON.stringify({ type: "response.output_text.done", text: "abcd" })}\n\n`);
    expect((await estimateUsage("llama3", {}, tally)).completionTokens).toBe(1);
  });

  it("treats special-token text in the prompt as text, and skips data URLs", async () => {
    const body = {
      messages: [
        { role: "user", content: "<|endoftext|>" },
        {
          role: "user",
          content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${"A".repeat(10_000)}` } }],
        },
      ],
    };
    const usage = await estimateUsage("gpt-4o", body, undefined);
    expect(usage.promptTokens).toBeGreaterThan(0);
    expect(usage.promptTokens).toBeLessThan(20);
    expect(usage.completionTokens).toBe(0);
  });

  it("bounds the work on a huge prompt and scales the count from a sample", async () => {
    const usage = await estimateUsage("llama3", { prompt: "abcd".repeat(250_000) }, undefined);
    expect(usage.promptTokens).toBe(250_000);
  });
});
