import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAutocannon, runStreams } from "./load.js";
import { type MockUpstream, startMockUpstream } from "./mock-upstream.js";
import type { Target } from "./targets.js";

// A smoke test of the benchmark's own parts: no timing assertions (timings belong in the benchmark).
describe("bench mock upstream and load helpers", () => {
  let mock: MockUpstream;
  let target: Target;
  beforeAll(async () => {
    mock = await startMockUpstream();
    target = {
      key: "mock",
      label: "mock",
      url: `${mock.url}/v1/chat/completions`,
      headers: { "content-type": "application/json" },
      model: (kind) =>
        kind === "small" ? "bench-small" : kind === "stream200" ? "bench-c200-d0" : "bench-c3-d1",
      processes: [],
    };
  });
  afterAll(() => mock.close());

  it("answers every request of a 1 s autocannon run with a 2xx", async () => {
    const r = await runAutocannon(target, 4, 1);
    expect(r.requests).toBeGreaterThan(0);
    expect(r.non2xx + r.errors + r.timeouts).toBe(0);
    expect(r.latenciesMs.length).toBeGreaterThan(0);
  });

  it("streams the number of chunks the model name asks for, then [DONE]", async () => {
    const s = await runStreams(target, "stream200", 2);
    expect(s.non2xx + s.errors).toBe(0);
    expect(s.events).toEqual([201, 201]);
    const slow = await runStreams(target, "ttfb", 1);
    expect(slow.events).toEqual([4]);
  });

  it("answers include_usage as OpenAI does: usage null on every chunk, then a usage chunk", async () => {
    const res = await fetch(target.url, {
      method: "POST",
      headers: target.headers,
      body: JSON.stringify({
        model: "bench-c3-d1",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const data = (await res.text())
      .split("\n\n")
      .filter((e) => e.startsWith("data: {"))
      .map((e) => JSON.parse(e.slice(6)) as { choices: unknown[]; usage: unknown });
    expect(data).toHaveLength(4);
    expect(data.slice(0, 3).map((d) => d.usage)).toEqual([null, null, null]);
    expect(data[3]?.choices).toEqual([]);
    expect(data[3]?.usage).toMatchObject({ completion_tokens: 3 });
  });
});
