import { randomBytes, randomUUID } from "node:crypto";
import { encodeJson } from "@gatehouse/bus";
import {
  type AccessEventEnvelope,
  accessEventSubject,
  authAdminWebhookDeliveriesList,
  authAdminWebhookEndpointsCreate,
} from "@gatehouse/contracts";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthHarness, startAuth } from "./harness.js";

let h: AuthHarness;

beforeAll(async () => {
  h = await startAuth({ AUTH_WEBHOOK_KEY: randomBytes(32).toString("base64") });
});
afterAll(async () => {
  await h?.stop();
});

const removal = (sequence: number, at: string): AccessEventEnvelope => ({
  source: "acl",
  sequence,
  at,
  event: { type: "grant.removed", subject: { kind: "user", id: randomUUID() }, account: "openai-main" },
});

describe("grant.removed webhooks from acl's access events", () => {
  it("are each enqueued once, and a new event reusing a number after acl's history was reset is not taken for the old one", async () => {
    const { endpoint } = await h.client.request(authAdminWebhookEndpointsCreate, {
      actor: h.admin,
      url: "https://hooks.example.com/gatehouse",
      description: "",
      eventTypes: ["grant.removed"],
    });
    const js = h.nc.jetstream();
    const subject = accessEventSubject(h.prefix, "acl");
    const first = removal(1, "2026-01-01T00:00:00.000Z");
    await js.publish(subject, encodeJson(first));
    // A redelivery of the same event (the relay re-publishing after a crash) adds nothing…
    await js.publish(subject, encodeJson(first));
    // …but acl restored from a backup numbers its next event 1 again: that one is new.
    await js.publish(subject, encodeJson(removal(1, "2026-02-01T00:00:00.000Z")));
    const deliveries = async () =>
      (
        await h.client.request(authAdminWebhookDeliveriesList, {
          actor: h.admin,
          endpointId: endpoint.id,
          limit: 50,
        })
      ).items;
    await waitFor(async () => (await deliveries()).length >= 2, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await deliveries()).length).toBe(2);
  });
});
