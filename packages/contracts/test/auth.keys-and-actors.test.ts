import { describe, expect, it } from "vitest";
import {
  Actor,
  CreatedKey,
  CreatePatRequest,
  heartbeatSubject,
  inboxPrefixFor,
  RegenerateVatResponse,
} from "../src/index.js";

const principal = { id: "00000000-0000-4000-8000-000000000001", kind: "user", name: "a", role: "admin" };
const actor = {
  principal,
  keyId: "00000000-0000-4000-8000-0000000000aa",
  keyHash: "a".repeat(64),
  requestId: "r",
};

describe("auth contracts: no key text, and actors that can be checked", () => {
  it("an actor without its key hash is not an actor", () => {
    expect(Actor.safeParse(actor).success).toBe(true);
    const { keyHash: _, ...claimOnly } = actor;
    expect(Actor.safeParse(claimOnly).success).toBe(false);
  });

  it("a key creation carries the new key's hash and hint, never its text", () => {
    const request = { actor, name: "k", keyHash: "b".repeat(64), displayHint: "gatehouse_pat_AbCd…wxYZ" };
    expect(CreatePatRequest.safeParse(request).success).toBe(true);
    expect(CreatePatRequest.safeParse({ ...request, displayHint: "gatehouse_pat_AbCdEfGh" }).success).toBe(
      false,
    );
    expect(CreatePatRequest.safeParse({ ...request, keyHash: "not-a-hash" }).success).toBe(false);
    // Answers have no place for the key: a reply that carried one would lose it on parsing.
    expect(Object.keys(CreatedKey.shape)).toEqual(["apiKey"]);
    expect(Object.keys(RegenerateVatResponse.shape)).not.toContain("key");
  });

  it("heartbeats and inboxes are per service, so server permissions can tell them apart", () => {
    expect(heartbeatSubject("gatehouse", "acl")).toBe("gatehouse.v1.events.heartbeat.acl");
    expect(inboxPrefixFor("dispatch")).toBe("_INBOX.dispatch");
  });
});
