import { describe, expect, it } from "vitest";
import { CASES, chatInput, HELLO, signal, useProvider } from "./cases.js";

describe.each(CASES.filter((c) => c.caps.chat))("$type: non-streaming chat", (c) => {
  const ctx = useProvider(c);

  it("answers in OpenAI chat.completion shape with usage", async () => {
    const result = await ctx.client().invoke(chatInput(c, HELLO), signal());
    expect(result.kind).toBe("json");
    if (result.kind !== "json") return;
    expect(result.status).toBe(200);
    const body = result.body as {
      object: string;
      choices: Array<{ message: { role: string; content: string }; finish_reason: string }>;
    };
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]?.message.role).toBe("assistant");
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
    expect(result.usage?.completionTokens).toBeGreaterThan(0);
    expect(result.usage?.totalTokens).toBe(
      (result.usage?.promptTokens ?? 0) + (result.usage?.completionTokens ?? 0),
    );
  });

  it.runIf(c.caps.http)(
    "sends the resolved model and never forwards routing fields from the body",
    async () => {
      const body = {
        ...HELLO,
        model: "evil/other",
        base_url: "http://evil.example",
        api_key: "sk-evil",
        api_base: "x",
        temperature: 0.2,
      };
      await ctx.client().invoke(chatInput(c, body), signal());
      const sent = ctx.up.requests.at(-1);
      const text = JSON.stringify(sent?.body);
      expect(text).not.toContain("evil");
      expect(text).not.toContain("api_base");
      expect(text).toContain("0.2");
      expect(sent?.path).toContain(c.type === "azure-openai" ? "/deployments/prod-gpt4o/" : "");
      expect(JSON.stringify(sent?.body ?? {}) + (sent?.path ?? "")).toContain(
        c.type === "azure-openai" ? "prod-gpt4o" : c.model,
      );
    },
  );
});
