import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEndpoint, createPat, deliveriesOf, webhooksAuthForFile } from "./harness.js";

// docs/revocation.md: "An attempt may take AUTH_WEBHOOK_TIMEOUT_MS". A receiver that answers and
// then sends its body a byte at a time never lets the idle timeouts fire: the attempt (and every
// delivery of the worker's batch behind it) went on for as long as the receiver kept sending, past
// the claim, after which another auth instance sends the same delivery again.
const TIMEOUT_MS = 500;
let receiver: Server;
let url = "";
const open = new Set<ServerResponse>();
const auth = webhooksAuthForFile({
  AUTH_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  AUTH_WEBHOOK_POLL_MS: "100",
  GATEHOUSE_LOCAL_MODE: "true",
});

beforeAll(async () => {
  receiver = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    open.add(res);
    const drip = setInterval(() => res.write("."), 100);
    res.on("close", () => {
      clearInterval(drip);
      open.delete(res);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  for (const res of open) res.destroy();
  await new Promise((r) => receiver?.close(r));
});

describe("a webhook delivery attempt", () => {
  it("ends within AUTH_WEBHOOK_TIMEOUT_MS even while the receiver is still sending its answer", async () => {
    const h = auth.h;
    const endpointId = await createEndpoint(h, ["key.created"], url);
    await createPat(h, { actor: h.admin, name: "deadline" });
    await waitFor(() => open.size === 1, 10_000);
    const attempted = async () => (await deliveriesOf(h, endpointId)).filter((d) => d.attempts > 0);
    // Recorded well within the 60 s claim, while the receiver still sends (it never stops by itself).
    await waitFor(async () => (await attempted()).length === 1, 10 * TIMEOUT_MS, 50);
    // The receiver answered 2xx: that is its acknowledgement, whatever became of the body.
    expect((await attempted()).map((d) => [d.status, d.lastStatus])).toEqual([["delivered", 200]]);
  }, 20_000);
});
