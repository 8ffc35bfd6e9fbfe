import { randomUUID } from "node:crypto";
import type { BusClient } from "@gatehouse/bus";
import { type Actor, authAdminPatsCreate, authAdminUsersCreate, authValidate } from "@gatehouse/contracts";
import { hashKey, mintKey } from "@gatehouse/keys";

/**
 * Real identities for other services' tests: acl and dispatch check every admin actor with auth, so
 * a test acts as a user that exists, through a key that is valid, exactly as ingress would.
 */
export interface TestIdentities {
  /** The bootstrap admin. */
  readonly admin: Actor;
  /** A new user with a new PAT, as the actor an admin request from that key carries. */
  user(role?: "admin" | "member"): Promise<Actor>;
}

/** `adminKey` is the auth service's GATEHOUSE_BOOTSTRAP_ADMIN_KEY. */
export async function testIdentities(client: BusClient, adminKey: string): Promise<TestIdentities> {
  const answer = await client.request(authValidate, { keyHash: hashKey(adminKey) });
  if (answer.outcome !== "valid") throw new Error(`the bootstrap admin key is ${answer.outcome}`);
  const admin: Actor = {
    principal: answer.principal,
    keyId: answer.key.id,
    keyHash: hashKey(adminKey),
    requestId: `test-${randomUUID()}`,
  };
  return {
    admin,
    async user(role = "member") {
      const name = `u-${role}-${randomUUID().slice(0, 8)}`;
      const user = await client.request(authAdminUsersCreate, {
        actor: admin,
        email: `${name}@example.com`,
        name,
        role,
      });
      const { keyHash, displayHint } = mintKey("pat");
      const pat = await client.request(authAdminPatsCreate, {
        actor: admin,
        userId: user.id,
        name: "test",
        keyHash,
        displayHint,
      });
      return {
        principal: { id: user.id, kind: "user", name: user.name, role: user.role },
        keyId: pat.apiKey.id,
        keyHash,
        requestId: `test-${randomUUID()}`,
      };
    },
  };
}
