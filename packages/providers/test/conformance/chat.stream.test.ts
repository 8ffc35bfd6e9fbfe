import { describe, expect, it } from "vitest";
import {
  assemble,
  CASES,
  chatInput,
  collectFrames,
  HELLO,
  openAIPayloads,
  signal,
  useProvider,
} from "./cases.js";

describe.each(CASES.filter((c) => c.caps.stream))("$type: streaming chat", (c) => {
  const ctx = useProvider(c);

  it("streams chunks in order, ends with [DONE], and knows usage at the end", async () => {
    ctx.upstream?.setNext({ kind: "answer", chunks: 5 });
    const result = await ctx.client().invoke(chatInput(c, HELLO, true), signal());
    expect(result.kind).toBe("stream");
    if (result.kind !== "stream") return;
    expect(result.usage()).toBeNull();
    const payloads = openAIPayloads(await collectFrames(result));
    for (const payload of payloads) {
      expect(payload.object).toBe("chat.completion.chunk");
      expect(payload).not.toHaveProperty("usage");
    }
    const { text, finish } = assemble(payloads);
    if (c.caps.http) expect(text).toBe("tok0 tok1 tok2 tok3 tok4 ");
    else expect(text).toBe("mock: Say hello");
    expect(finish).toBe("stop");
    expect(result.usage()?.completionTokens).toBeGreaterThan(0);
    expect(result.usage()?.promptTokens).toBeGreaterThan(0);
  });

  it("forwards the final usage chunk only when the caller asked for it", async () => {
    const body = { ...HELLO, stream_options: { include_usage: true } };
    const result = await ctx.client().invoke(chatInput(c, body, true), signal());
    const payloads = openAIPayloads(await collectFrames(result));
    const last = payloads.at(-1) as { choices: unknown[]; usage: { total_tokens: number } };
    expect(last.choices).toEqual([]);
    expect(last.usage.total_tokens).toBeGreaterThan(0);
  });

  it.runIf(c.caps.http && (c.type === "openai" || c.type === "azure-openai"))(
    "always asks the upstream for usage",
    async () => {
      await collectFrames(await ctx.client().invoke(chatInput(c, HELLO, true), signal()));
      expect(ctx.up.requests.at(-1)?.body).toMatchObject({
        stream: true,
        stream_options: { include_usage: true },
      });
    },
  );
});
