import { encodeJson } from "@gatehouse/bus";
import { accessEventStreamName, accessEventSubject } from "@gatehouse/contracts";
import { lockTable, waitFor } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { GRANT_WEBHOOKS_DURABLE } from "../src/webhooks/worker.js";
import { createEndpoint, deliveriesOf, grantRemoval, webhooksAuthForFile } from "./harness.js";

// Behind a database that does not answer (a lock held, a connection silently gone), acl's events
// auth has yet to enqueue as webhooks must wait in JetStream: taken into auth while it waits, they
// (and their redeliveries after the 30 s ack wait) piled up in its memory without bound.
const auth = webhooksAuthForFile();

describe("acl's events for webhooks behind a database that hangs", () => {
  it("takes in no more events while one is being enqueued", async () => {
    const h = auth.h;
    const endpointId = await createEndpoint(h, ["grant.removed"]);
    const js = h.nc.jetstream();
    const publish = (sequence: number) =>
      js.publish(accessEventSubject(h.prefix, "acl"), encodeJson(grantRemoval(sequence)));
    const jsm = await h.nc.jetstreamManager();
    const info = () => jsm.consumers.info(accessEventStreamName(h.prefix), GRANT_WEBHOOKS_DURABLE);

    // Enqueuing a webhook inserts its delivery: the lock makes that insert wait.
    const lock = await lockTable(h.databaseUrl, "auth.webhook_deliveries");
    try {
      await publish(1);
      await waitFor(async () => (await info()).num_ack_pending === 1, 10_000, 50);
      // The pull that brought it has ended (a pull waits at most a second for more).
      await new Promise((r) => setTimeout(r, 1_300));
      for (let i = 2; i <= 9; i++) await publish(i);
      await new Promise((r) => setTimeout(r, 300));
      const waiting = await info();
      expect([waiting.num_ack_pending, waiting.num_pending]).toEqual([1, 8]);
    } finally {
      await lock.release();
    }
    await waitFor(async () => (await deliveriesOf(h, endpointId)).length === 9, 15_000, 50);
  }, 40_000);
});
