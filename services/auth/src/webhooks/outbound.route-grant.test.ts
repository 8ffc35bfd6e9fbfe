import { describe, expect, it } from "vitest";
import { outboundForAccessEvent } from "./outbound.js";

describe("outbound webhooks for grant removals", () => {
  const subject = { kind: "virtual_account" as const, id: "7d6f0a36-6d7e-4c38-9a55-2f9a1a0c3b11" };

  it("a removed grant on a route is announced as grant.removed naming the route", () => {
    expect(outboundForAccessEvent({ type: "route_grant.removed", subject, route: "smart" })).toEqual({
      type: "grant.removed",
      data: { subject, route: "smart" },
    });
  });

  it("a removed grant on an account still names the account", () => {
    expect(outboundForAccessEvent({ type: "grant.removed", subject, account: "openai-main" })).toEqual({
      type: "grant.removed",
      data: { subject, account: "openai-main" },
    });
  });
});
