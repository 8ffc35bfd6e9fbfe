import type { Emit } from "@gatehouse/access-events";
import { type Route, route } from "@gatehouse/bus";
import {
  authWebhooksRevocations,
  GatehouseError,
  InboundRevocation,
  type InboundWebhookResponse,
} from "@gatehouse/contracts";
import { hashKey, parseKey } from "@gatehouse/keys";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { AuthContext, AuthTx } from "../context.js";

import { apiKeys, users } from "../db/schema.js";
import { webhookReceipts, webhookSecrets } from "../db/webhooks-schema.js";
import { openSecret } from "./crypto.js";
import { WebhookSecretCache } from "./secret-cache.js";
import { verify } from "./signature.js";

/**
 * `auth.webhooks.revocations`: a signed revocation from an identity provider or a secret scanner.
 * Verified against every live secret, applied at most once per `webhook-id` (the receipt commits
 * with the change), and answered only after the commit and the confirmed revoke. Unknown users and
 * keys answer `matched: false` exactly like a match would answer, minus the flag.
 */
export function inboundRoute(ctx: AuthContext): Route {
  const cache = new WebhookSecretCache();
  return route(authWebhooksRevocations, async (req): Promise<InboundWebhookResponse> => {
    const body = Buffer.from(req.bodyBase64, "base64");
    const secrets = await liveSecrets(ctx, cache);
    const verdict = verify(secrets, req, body, ctx.now());
    if (verdict !== "ok") {
      ctx.logger.warn({ webhookId: req.id.slice(0, 64), verdict }, "inbound webhook refused");
      throw new GatehouseError("invalid_webhook_signature", "webhook signature or timestamp is not valid");
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      throw new GatehouseError("invalid_request", "webhook body is not JSON");
    }
    const parsed = InboundRevocation.safeParse(json);
    if (!parsed.success) {
      throw new GatehouseError("invalid_request", "webhook body is not a supported revocation event");
    }
    const event = parsed.data;
    const now = ctx.now();
    const { value, propagation } = await ctx.changes.reporting(async (tx, emit) => {
      const fresh = await tx
        .insert(webhookReceipts)
        .values({ webhookId: req.id, receivedAt: now, type: event.type, matched: "no" })
        .onConflictDoNothing()
        .returning({ id: webhookReceipts.webhookId });
      if (fresh.length === 0) return { matched: false, duplicate: true };
      const matched = await apply(tx, emit, event, now);
      await tx
        .update(webhookReceipts)
        .set({ matched: matched.target ? "yes" : "no" })
        .where(eq(webhookReceipts.webhookId, req.id));
      // Audited like an admin change; a key value never reaches the audit row, only its id.
      await ctx.changes.audit(
        tx,
        "system",
        {
          action: `webhooks.${event.type}`,
          targetKind: matched.kind,
          targetId: matched.target ?? null,
          detail: { webhookId: req.id, matched: matched.target !== undefined, ...matched.detail },
        },
        now,
      );
      return { matched: matched.target !== undefined, duplicate: false };
    });
    ctx.logger.info(
      {
        webhookId: req.id,
        type: event.type,
        matched: value.matched,
        duplicate: value.duplicate,
        propagation,
      },
      "inbound revocation webhook applied",
    );
    return propagation ? { ...value, propagation } : value;
  });
}

async function liveSecrets(ctx: AuthContext, cache: WebhookSecretCache): Promise<string[]> {
  const key = ctx.config.webhooks.key;
  if (!key) return [];
  const rows = await ctx.db
    .select({ id: webhookSecrets.id, secretCiphertext: webhookSecrets.secretCiphertext })
    .from(webhookSecrets);
  return cache.secretsFor(rows, (r) => {
    try {
      return openSecret(key, r.id, r.secretCiphertext);
    } catch (err) {
      ctx.logger.error({ err, secretId: r.id }, "cannot decrypt a webhook secret (wrong AUTH_WEBHOOK_KEY?)");
      return undefined;
    }
  });
}

interface Applied {
  kind: string;
  target: string | undefined;
  detail?: Record<string, unknown>;
}

async function apply(tx: AuthTx, emit: Emit, event: InboundRevocation, now: Date): Promise<Applied> {
  switch (event.type) {
    case "user.deactivate":
    case "user.revoke_pats": {
      const where =
        "email" in event.data
          ? sql`lower(${users.email}) = lower(${event.data.email})`
          : eq(users.externalId, event.data.external_id);
      const rows = await tx.select().from(users).where(where).for("update").limit(1);
      const user = rows[0];
      if (!user) return { kind: "user", target: undefined };
      const deactivate = event.type === "user.deactivate";
      if (deactivate && user.status !== "deactivated") {
        await tx
          .update(users)
          .set({ status: "deactivated", deactivatedAt: now })
          .where(eq(users.id, user.id));
      }
      const revoked = await tx
        .update(apiKeys)
        .set({ revokedAt: now, revokedReason: deactivate ? "user_deactivated" : "user_keys_revoked" })
        .where(and(eq(apiKeys.userId, user.id), eq(apiKeys.kind, "pat"), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      await emit(
        deactivate
          ? { type: "user.deactivated", userId: user.id }
          : { type: "user.keys_revoked", userId: user.id },
      );
      return { kind: "user", target: user.id, detail: { revokedKeys: revoked.length } };
    }
    case "key.revoke":
    case "key.revoke_by_value": {
      let where: ReturnType<typeof eq>;
      if (event.type === "key.revoke") {
        where = eq(apiKeys.id, event.data.key_id);
      } else {
        // A scanner's finding: only a well-formed key can exist; the text is hashed and dropped.
        const parsed = parseKey(event.data.key);
        if (!parsed.ok) return { kind: "api_key", target: undefined };
        where = eq(apiKeys.keyHash, hashKey(event.data.key));
      }
      const rows = await tx.select().from(apiKeys).where(where).for("update").limit(1);
      const key = rows[0];
      if (!key) return { kind: "api_key", target: undefined };
      if (!key.revokedAt) {
        const reason = event.type === "key.revoke_by_value" ? "leaked" : "revoked_by_webhook";
        await tx.update(apiKeys).set({ revokedAt: now, revokedReason: reason }).where(eq(apiKeys.id, key.id));
        await emit({ type: "key.revoked", keyId: key.id, keyHash: key.keyHash, reason });
      }
      return { kind: "api_key", target: key.id };
    }
  }
}
