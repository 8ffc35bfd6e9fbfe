import { encodeJson } from "@gatehouse/bus";
import { accessEventSubject } from "@gatehouse/contracts";
import { lockTable, logEntries, waitFor } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { createEndpoint, deliveriesOf, grantRemoval, webhooksAuthForFile } from "./harness.js";

// docs/revocation.md, "Outbound webhooks": enqueuing acl's events waits on the database for a bounded
// time (ENQUEUE_TIMEOUT_MS). Behind a database that does not answer, the event being enqueued and the
// ones pulled with it go back to JetStream — unbounded, a hung database held them (and auth's stop)
// for as long as it hung, past their ack wait, when another instance got them again.
const auth = webhooksAuthForFile();

function logLines(): Array<Record<string, unknown>> {
  return logEntries(auth.h.logs());
}

describe("acl's events for webhooks behind a database that hangs", () => {
  it("hands the pulled events back to JetStream and enqueues each once the database answers", async () => {
    const h = auth.h;
    const endpointId = await createEndpoint(h, ["grant.removed"]);
    const js = h.nc.jetstream();
    // Enqueuing a webhook inserts its delivery: the lock makes that insert wait.
    const lock = await lockTable(h.databaseUrl, "auth.webhook_deliveries");
    try {
      // Published together, they arrive in one pull: the first waits on the lock, two behind it.
      await Promise.all(
        [1, 2, 3].map((s) => js.publish(accessEventSubject(h.prefix, "acl"), encodeJson(grantRemoval(s)))),
      );
      await waitFor(
        async () => logLines().some((l) => String(l.msg).includes("handed back to JetStream untried")),
        30_000,
        50,
      );
      const timedOut = logLines().filter((l) => String(l.msg).includes("did not answer in time"));
      const handedBack = logLines().filter((l) => String(l.msg).includes("handed back to JetStream untried"));
      // One wait on the database for the pull, not one per event.
      expect(timedOut).toHaveLength(1);
      expect(handedBack[0]?.events).toBe(2);
    } finally {
      await lock.release();
    }
    await waitFor(async () => (await deliveriesOf(h, endpointId)).length === 3, 30_000, 50);
    // An attempt cut off by the timeout left nothing behind: each event is enqueued once.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await deliveriesOf(h, endpointId)).toHaveLength(3);
  }, 60_000);
});
