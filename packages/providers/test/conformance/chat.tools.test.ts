import { describe, expect, it } from "vitest";
import {
  assemble,
  CASES,
  chatInput,
  collectFrames,
  openAIPayloads,
  signal,
  useProvider,
  WEATHER_TOOL,
} from "./cases.js";

const ASK = { messages: [{ role: "user", content: "call get_weather for Paris" }], tools: [WEATHER_TOOL] };

describe.each(CASES.filter((c) => c.caps.tools))("$type: tool calls", (c) => {
  const ctx = useProvider(c);
  const script = () =>
    ctx.upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Paris" } });

  it("returns a tool call with JSON arguments and finish_reason tool_calls", async () => {
    script();
    const result = await ctx.client().invoke(chatInput(c, ASK), signal());
    if (result.kind !== "json") throw new Error("expected json");
    const choice = (
      result.body as {
        choices: Array<{
          message: {
            tool_calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
          };
          finish_reason: string;
        }>;
      }
    ).choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    const call = choice?.message.tool_calls[0];
    expect(call?.type).toBe("function");
    expect(call?.id.length).toBeGreaterThan(0);
    expect(call?.function.name).toBe("get_weather");
    const args = JSON.parse(call?.function.arguments ?? "");
    if (c.caps.http) expect(args).toEqual({ city: "Paris" });
    else expect(args).toEqual({ text: "call get_weather for Paris" });
  });

  it("streams tool-call deltas that reassemble to the call", async () => {
    script();
    const result = await ctx.client().invoke(chatInput(c, ASK, true), signal());
    const { tools, finish } = assemble(openAIPayloads(await collectFrames(result)));
    expect(finish).toBe("tool_calls");
    expect(tools).toHaveLength(1);
    expect(tools[0]?.name).toBe("get_weather");
    expect(tools[0]?.id.length).toBeGreaterThan(0);
    expect(JSON.parse(tools[0]?.arguments ?? "")).toBeTypeOf("object");
  });

  it.runIf(c.caps.http)("sends tools in the provider's own shape", async () => {
    await ctx.client().invoke(chatInput(c, { ...ASK, tool_choice: "required" }), signal());
    const body = JSON.stringify(ctx.up.requests.at(-1)?.body);
    expect(body).toContain("get_weather");
    expect(body).toContain("Current weather for a city");
    if (c.type === "anthropic") expect(body).toContain('"input_schema"');
    if (c.type === "gemini") expect(body).toContain('"functionDeclarations"');
  });
});
