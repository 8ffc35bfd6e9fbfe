import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grant, newVirtualAccount } from "./access-api.js";
import { caught, type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

let world: InferenceWorld;
/** A second app granted on the same accounts: it must never see the first app's responses. */
let other: OpenAI;

beforeAll(async () => {
  world = await startInferenceWorld({
    types: ["openai", "mock"],
    env: { GATEHOUSE_RESPONSE_STORE_DAYS: "1" },
  });
  const b = await newVirtualAccount(world.stack, world.adminKey, `other-app-${Date.now()}`);
  for (const account of ["openai-main", "mock-main"])
    await grant(world.stack, world.adminKey, account, { kind: "virtual_account", id: b.va.id });
  other = world.openai(b.key);
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

describe.each([
  ["native (openai)", "openai-main/gpt-4o-mini", "openai"],
  ["Gatehouse's store (mock)", "mock-main/echo", "mock"],
] as const)("a stored response, %s", (_label, model, type) => {
  it("is the creator's: another principal on the same account gets 404 for every use of its id", async () => {
    const owner = world.openai();
    const created = await owner.responses.create({ model, input: "alpha beta gamma delta" });
    const upstream = world.byType(type).upstream;
    const seen = upstream?.requests.length ?? 0;

    for (const attempt of [
      () => other.responses.retrieve(created.id),
      () => other.responses.delete(created.id),
      () => other.responses.inputItems.list(created.id),
      () => other.responses.cancel(created.id),
      () => other.responses.create({ model, input: "continue", previous_response_id: created.id }),
    ]) {
      expect(await caught(attempt)).toBeInstanceOf(OpenAI.NotFoundError);
    }
    // Nothing of the other caller's attempts reached the provider.
    expect(upstream?.requests.length ?? 0).toBe(seen);

    const again = await owner.responses.retrieve(created.id);
    expect(again.id).toBe(created.id);
    expect(again.output_text).toBe(created.output_text);
    const items = await owner.responses.inputItems.list(created.id);
    expect(JSON.stringify(items.data)).toContain("alpha beta gamma delta");
  });

  it("continues with previous_response_id for its owner, and is gone once deleted", async () => {
    const owner = world.openai();
    const first = await owner.responses.create({ model, input: "alpha beta gamma delta" });
    const second = await owner.responses.create({ model, input: "hi", previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    if (type === "mock") {
      // The mock counts every message it was sent: the earlier turn must have been among them.
      expect(second.usage?.input_tokens).toBeGreaterThan(10);
    } else {
      expect(world.byType(type).upstream?.requests.at(-1)?.body).toMatchObject({
        previous_response_id: first.id,
      });
    }
    await owner.responses.delete(first.id);
    expect(await caught(() => owner.responses.retrieve(first.id))).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("refuses another principal's output item named in an item_reference", async () => {
    const created = await world.openai().responses.create({ model, input: "secret plans" });
    const itemId = created.output[0]?.id ?? "";
    const error = await caught(() =>
      other.responses.create({ model, input: [{ type: "item_reference", id: itemId }] }),
    );
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("streamed responses", () => {
  it("are owned from their first event: the owner can retrieve one right after the stream", async () => {
    for (const model of ["openai-main/gpt-4o-mini", "mock-main/echo"]) {
      const stream = await world.openai().responses.create({ model, input: "stream me", stream: true });
      let id = "";
      for await (const event of stream) if (event.type === "response.created") id = event.response.id;
      expect((await world.openai().responses.retrieve(id)).status).toBe("completed");
      expect(await caught(() => other.responses.retrieve(id))).toBeInstanceOf(OpenAI.NotFoundError);
    }
  });
});
