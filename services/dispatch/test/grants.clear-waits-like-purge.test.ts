import { randomUUID } from "node:crypto";
import { encodeJson } from "@gatehouse/bus";
import {
  aclAdminGrantsCreate,
  aclAdminGrantsList,
  dispatchAdminAccountsCreate,
  ingressPresenceSubject,
  ingressSyncSubject,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DispatchHarness, startDispatch } from "./harness.js";

// A clear that removes grants is a revoking change: acl answers once every live ingress replica
// confirmed, or the access lease ran out. Dispatch must wait for it as long as for the purge.
const LEASE_MS = 6_000;

let h: DispatchHarness;
let presence: NodeJS.Timeout | undefined;

beforeAll(async () => {
  h = await startDispatch({ ACCESS_LEASE_MS: String(LEASE_MS) });
  // An ingress replica that announces itself, hears sync requests and never confirms: acl waits
  // out the whole lease.
  h.bus.nc.subscribe(ingressSyncSubject(h.prefix));
  const announce = () =>
    h.bus.nc.publish(
      ingressPresenceSubject(h.prefix),
      encodeJson({ replica: "silent", at: new Date().toISOString() }),
    );
  announce();
  presence = setInterval(announce, 100);
  // acl's roster trusts itself (and waits the whole lease) after two presence periods of 500 ms.
  await new Promise((r) => setTimeout(r, 1_100));
}, 60_000);
afterAll(async () => {
  clearInterval(presence);
  await h?.stop();
});

describe("the clear in a create waits for acl as long as acl may take to propagate", () => {
  it("creates an account whose name held a leftover grant while a replica stays silent", async () => {
    const admin = h.ids.admin;
    // Left on the name by a delete whose last clear never ran.
    await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "slow-clear",
      resourceId: randomUUID(),
      subject: { kind: "virtual_account", id: randomUUID() },
      role: "user",
    });
    const created = await h.client.request(
      dispatchAdminAccountsCreate,
      { actor: admin, name: "slow-clear", type: "mock", models: [{ name: "m", kind: "chat" }] },
      { timeoutMs: 4 * LEASE_MS },
    );
    expect(created.name).toBe("slow-clear");
    const left = await h.client.request(aclAdminGrantsList, { actor: admin, account: "slow-clear" });
    expect(left.items).toEqual([]);
  }, 60_000);
});
