import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEndpoint, createPat, deliveriesOf, webhooksAuthForFile } from "./harness.js";

// docs/revocation.md, "Outbound webhooks": a worker's claim on a delivery outlasts the longest
// attempt AUTH_WEBHOOK_TIMEOUT_MS allows. At its maximum (60 s) the attempt could outlive a fixed
// 60 s claim, and another auth instance found the delivery due and sent it again while it was in flight.
const TIMEOUT_MS = 60_000;
let receiver: Server;
let url = "";
const held: Array<{ req: IncomingMessage; res: ServerResponse }> = [];
const auth = webhooksAuthForFile({
  AUTH_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  AUTH_WEBHOOK_POLL_MS: "100",
  GATEHOUSE_LOCAL_MODE: "true",
});

beforeAll(async () => {
  // A receiver that takes the request and does not answer (until the test ends).
  receiver = createServer((req, res) => {
    held.push({ req, res });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  for (const { res } of held) res.destroy();
  await new Promise((r) => receiver?.close(r));
});

describe("a worker's claim on a delivery", () => {
  it("lasts past an attempt at the longest AUTH_WEBHOOK_TIMEOUT_MS allows, with room for recording it", async () => {
    const h = auth.h;
    const endpointId = await createEndpoint(h, ["key.created"], url);
    await createPat(h, { actor: h.admin, name: "claimed" });
    // The attempt is under way: the receiver holds it.
    await waitFor(() => held.length === 1, 10_000);
    const [delivery] = await deliveriesOf(h, endpointId);
    expect(delivery?.attempts).toBe(0);
    // Not due for any worker until the attempt's deadline has passed, and a margin after it: the
    // claim was made before now, so it must reach further than now + the timeout.
    const dueAt = Date.parse(delivery?.nextAttemptAt ?? "");
    expect(dueAt - Date.now()).toBeGreaterThan(TIMEOUT_MS + 10_000);
  }, 30_000);
});
