import { encodeJson } from "@gatehouse/bus";
import { accessEventSubject } from "@gatehouse/contracts";
import { waitFor } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { createEndpoint, deliveriesOf, grantRemoval, webhooksAuthForFile } from "./harness.js";

const auth = webhooksAuthForFile();

describe("grant.removed webhooks from acl's access events", () => {
  it("are each enqueued once, and a new event reusing a number after acl's history was reset is not taken for the old one", async () => {
    const h = auth.h;
    const endpointId = await createEndpoint(h, ["grant.removed"]);
    const js = h.nc.jetstream();
    const subject = accessEventSubject(h.prefix, "acl");
    const first = grantRemoval(1, "2026-01-01T00:00:00.000Z");
    await js.publish(subject, encodeJson(first));
    // A redelivery of the same event (the relay re-publishing after a crash) adds nothing…
    await js.publish(subject, encodeJson(first));
    // …but acl restored from a backup numbers its next event 1 again: that one is new.
    await js.publish(subject, encodeJson(grantRemoval(1, "2026-02-01T00:00:00.000Z")));
    await waitFor(async () => (await deliveriesOf(h, endpointId)).length >= 2, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await deliveriesOf(h, endpointId)).length).toBe(2);
  });
});
