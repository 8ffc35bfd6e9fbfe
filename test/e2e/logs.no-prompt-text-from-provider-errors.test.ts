import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { caught, type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

// Providers quote the request back in their errors ("'…' is too long"); none of it may reach a log.
let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai", "anthropic"] });
}, 60_000);
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => {
  for (const p of world.providers) p.upstream?.reset();
});

const MARKER = "quince-marble-42";
const ask = { messages: [{ role: "user" as const, content: `Tell me about ${MARKER}` }] };
const TYPES = ["openai", "anthropic"] as const;

function upstreamOf(type: (typeof TYPES)[number]) {
  const u = world.byType(type).upstream;
  if (!u) throw new Error("no upstream");
  return u;
}

function model(type: (typeof TYPES)[number]): string {
  const p = world.byType(type);
  return `${p.account}/${p.chatModel}`;
}

describe.each(TYPES)("a %s provider's error that echoes the prompt", (type) => {
  it("a 500 whose body quotes the prompt: 502 for the caller, the quote in no log line", async () => {
    const before = world.stack.logs.lines.length;
    const echo = { error: { message: `server failed on '${MARKER}'`, type: "server_error" } };
    upstreamOf(type).setNext(
      { kind: "httpError", status: 500, body: echo },
      { kind: "httpError", status: 500, body: echo },
      { kind: "httpError", status: 500, body: echo },
    );
    const err = await caught(() => world.openai().chat.completions.create({ model: model(type), ...ask }));
    expect(err).toMatchObject({ status: 502, code: "provider_error" });
    const lines = world.stack.logs.lines.slice(before);
    const failed = lines.filter((l) => l.includes("upstream status 500"));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.join("")).toContain("server_error");
    expect(lines.join("")).not.toContain(MARKER);
  });

  it("a 400 quoting the prompt: the caller reads their provider's message, the logs do not", async () => {
    const before = world.stack.logs.lines.length;
    upstreamOf(type).setNext({ kind: "httpError", status: 400, message: `'${MARKER}' is not allowed` });
    const err = await caught(() => world.openai().chat.completions.create({ model: model(type), ...ask }));
    expect(err).toMatchObject({ status: 400 });
    expect((err as Error).message).toContain(MARKER);
    expect(world.stack.logs.lines.slice(before).join("")).not.toContain(MARKER);
  });

  it("an error in the middle of a stream quoting the prompt stays out of the logs", async () => {
    const before = world.stack.logs.lines.length;
    upstreamOf(type).setNext({
      kind: "errorMidStream",
      afterFrames: 1,
      errorType: "server_error",
      message: `failed on '${MARKER}'`,
    });
    const err = await caught(async () => {
      const stream = await world
        .openai()
        .chat.completions.create({ model: model(type), ...ask, stream: true });
      for await (const _ of stream) {
        // drain
      }
    });
    expect(err).toBeInstanceOf(Error);
    expect(world.stack.logs.lines.slice(before).join("")).not.toContain(MARKER);
  });
});
