import { encodeJson } from "@gatehouse/bus";
import { accessEventStreamName, accessEventSubject } from "@gatehouse/contracts";
import { waitFor } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { GRANT_WEBHOOKS_DURABLE } from "../src/webhooks/worker.js";
import { createEndpoint, deliveriesOf, grantRemoval, webhooksAuthForFile } from "./harness.js";

// docs/security.md: ingress may delete any consumer on the access-event stream, auth's durable one
// included. acl's later events must still become webhooks without waiting for auth to restart.
const auth = webhooksAuthForFile();

describe("auth's consumer of acl's events, deleted under it", () => {
  it("is made again, and acl's events published afterwards become webhooks", async () => {
    const h = auth.h;
    const endpointId = await createEndpoint(h, ["grant.removed"]);
    const jsm = await h.nc.jetstreamManager();
    const stream = accessEventStreamName(h.prefix);
    await jsm.consumers.delete(stream, GRANT_WEBHOOKS_DURABLE);
    await waitFor(
      () =>
        jsm.consumers.info(stream, GRANT_WEBHOOKS_DURABLE).then(
          () => true,
          () => false,
        ),
      10_000,
      100,
    );
    await h.nc.jetstream().publish(accessEventSubject(h.prefix, "acl"), encodeJson(grantRemoval(1)));
    await waitFor(async () => (await deliveriesOf(h, endpointId)).length === 1, 10_000, 50);
    expect(h.logs()).toContain("pulling again");
  }, 30_000);
});
