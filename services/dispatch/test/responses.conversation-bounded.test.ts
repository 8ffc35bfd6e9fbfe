import { randomUUID } from "node:crypto";
import { GatehouseError } from "@gatehouse/contracts";
import { openDatabase } from "@gatehouse/db";
import { createLogger } from "@gatehouse/kit";
import type { ProviderClient } from "@gatehouse/providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { responses } from "../src/db/responses-schema.js";
import {
  type AccountMeta,
  MAX_CONVERSATION_ITEMS,
  type ResponsesDeps,
  ResponsesSession,
} from "../src/responses/session.js";
import { ResponseStore } from "../src/responses/store.js";
import { type DispatchHarness, startDispatch } from "./harness.js";

let harness: DispatchHarness;
let close: () => Promise<void>;
let deps: ResponsesDeps;

beforeAll(async () => {
  harness = await startDispatch();
  const database = await openDatabase({ url: harness.database.url, maxConnections: 2 });
  close = () => database.close();
  deps = {
    store: new ResponseStore(database.drizzle({ responses })),
    storeDays: 1,
    logger: createLogger({ level: "silent", service: "test" }),
  };
}, 30_000);
afterAll(async () => {
  await close?.();
  await harness?.stop();
});

const owner = { id: randomUUID(), kind: "virtual_account" as const };
const meta: AccountMeta = {
  account: "mock-main",
  model: "echo",
  operation: "responses",
  dialect: "openai",
  stream: false,
  includeUsage: false,
  requestId: "req-1",
  principal: owner,
  keyId: randomUUID(),
};
/** The one thing a session reads of the account's client: whether the provider keeps responses itself. */
const translated = { responsesNative: false } as ProviderClient;

async function keepConversation(id: string, items: number): Promise<void> {
  const history = Array.from({ length: items }, (_, i) => ({
    id: `item_${id}_${i}`,
    type: "message",
    role: "user",
    content: "x",
  }));
  await deps.store.keep(
    {
      id,
      owner,
      account: meta.account,
      model: meta.model,
      itemIds: [],
      history,
      input: [],
      response: { id, object: "response", output: [] },
    },
    1,
  );
}

describe("a continued conversation", () => {
  it("carries what was kept into the call", async () => {
    await keepConversation("resp_gh_short", 100);
    const session = await ResponsesSession.begin(
      deps,
      meta,
      { input: "more", previous_response_id: "resp_gh_short" },
      translated,
    );
    expect(session.state?.history).toHaveLength(100);
  });

  it("is a 400 once it would hold more items than one request may", async () => {
    await keepConversation("resp_gh_long", MAX_CONVERSATION_ITEMS);
    const error = await ResponsesSession.begin(
      deps,
      meta,
      { input: "one more", previous_response_id: "resp_gh_long" },
      translated,
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).status).toBe(400);
    expect((error as GatehouseError).message).toContain("previous_response_id");
  });
});
