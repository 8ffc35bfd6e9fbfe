import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type Cluster, startCluster, statusOn, warmVat } from "./revocation.cluster.js";

let c: Cluster;
let vaId: string;

beforeAll(async () => {
  c = await startCluster();
  const va = await api(c.urls[0] ?? "", c.adminKey, "POST", "/api/v1/virtual-accounts", { name: "scaled" });
  vaId = va.body.id;
}, 60_000);
afterAll(async () => {
  await c?.stop();
});

/** Standard Webhooks signature, computed here independently of the gateway's code. */
function sign(secret: string, id: string, ts: string, body: string): string {
  const mac = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
    .update(`${id}.${ts}.${body}`)
    .digest("base64");
  return `v1,${mac}`;
}

async function sendWebhook(base: string, secret: string, id: string, payload: unknown, tsOffset = 0) {
  const body = JSON.stringify(payload);
  const ts = String(Math.floor(Date.now() / 1000) + tsOffset);
  const res = await fetch(`${base}/webhooks/revocations`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": ts,
      "webhook-signature": sign(secret, id, ts, body),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe("revocation across three ingress processes", () => {
  it("a key revoked through replica A is refused by B and C when the call returns", async () => {
    const [a, b, cc] = c.urls as [string, string, string];
    const vat = await warmVat(c, vaId);
    for (const u of c.urls) expect(await statusOn(u, vat.key)).toBe(200);

    const revoke = await api(a, c.adminKey, "DELETE", `/api/v1/virtual-accounts/${vaId}/tokens/${vat.id}`);
    expect(revoke.status).toBe(200);
    // The guarantee: refused everywhere once the call returned. How many replicas confirmed within
    // the lease is the machine's speed (a busy machine confirms fewer; the rest stop trusting their
    // caches instead), so the report's shape is asserted, not its counts: speed is for benchmarks.
    expect(await statusOn(b, vat.key)).toBe(401);
    expect(await statusOn(cc, vat.key)).toBe(401);
    expect(await statusOn(a, vat.key)).toBe(401);
    expect(revoke.body.propagation).toEqual({
      replicas: expect.any(Number),
      confirmed: expect.any(Number),
      elapsed_ms: expect.any(Number),
      complete: expect.any(Boolean),
      published: expect.any(Boolean),
    });

    // Each replica measures the event's lag from commit to applied, and trusts its caches again.
    await waitFor(
      async () => {
        const text = await (await fetch(`${b}/metrics`)).text();
        return (
          /gatehouse_access_event_lag_seconds_count\{source="auth",type="key.revoked"\} [1-9]/.test(text) &&
          text.includes("gatehouse_access_feed_trusted 1")
        );
      },
      10_000,
      100,
    );
  });

  it("a signed revocation webhook revokes a key by its value on every replica before it answers", async () => {
    const [a, b] = c.urls as [string, string, string];
    const created = await api(a, c.adminKey, "POST", "/api/v1/webhooks/secrets", { name: "scanner" });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const listed = await api(a, c.adminKey, "GET", "/api/v1/webhooks/secrets");
    expect(listed.body.data.map((s: { id: string }) => s.id)).toContain(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    const secret: string = created.body.secret;

    const vat = await warmVat(c, vaId);
    const payload = { type: "key.revoke_by_value", data: { key: vat.key } };
    const id = `msg_${Date.now()}`;
    const res = await sendWebhook(b, secret, id, payload);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ matched: true, propagation: { replicas: expect.any(Number) } });
    for (const u of c.urls) expect(await statusOn(u, vat.key)).toBe(401);

    // Replayed: answered, not re-applied.
    expect(await sendWebhook(a, secret, id, payload)).toMatchObject({
      status: 200,
      body: { duplicate: true },
    });
    // Unknown key: 2xx, nothing matched, indistinguishable from any other unknown value.
    const unknown = await sendWebhook(a, secret, `${id}-u`, {
      type: "key.revoke_by_value",
      data: { key: "gatehouse_vat_nope" },
    });
    expect(unknown).toEqual({ status: 200, body: { matched: false } });
    // Bad signature, stale timestamp, malformed body.
    expect(
      (await sendWebhook(a, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", `${id}-x`, payload)).status,
    ).toBe(401);
    expect((await sendWebhook(a, secret, `${id}-t`, payload, -600)).status).toBe(401);
    expect(
      (await sendWebhook(a, secret, `${id}-m`, { type: "key.revoke", data: { key_id: "nope" } })).status,
    ).toBe(400);
    // The leaked key never reaches a log.
    expect(c.stack.logs.text()).not.toContain(vat.key);
    for (const r of c.replicas) expect(r.output.join("")).not.toContain(vat.key);
  });

  it("deactivates a user by email through a webhook; outbound events reach a registered endpoint, signed", async () => {
    const [a] = c.urls as [string, string, string];
    const received: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => {
        body += d.toString();
      });
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        res.statusCode = received.length === 1 ? 500 : 204; // the first attempt fails: it is retried
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as { port: number }).port;
      const ep = await api(a, c.adminKey, "POST", "/api/v1/webhooks/endpoints", {
        url: `http://127.0.0.1:${port}/hooks`,
        event_types: ["user.deactivated", "key.created"],
      });
      expect(ep.status).toBe(201);
      expect(
        (
          await api(a, c.adminKey, "POST", "/api/v1/webhooks/endpoints", {
            url: "ftp://x/y",
            event_types: ["key.created"],
          })
        ).status,
      ).toBe(422);

      const email = `leaver-${Date.now()}@example.com`;
      const user = await api(a, c.adminKey, "POST", "/api/v1/users", { email, name: "Leaver" });
      const pat = await api(a, c.adminKey, "POST", "/api/v1/personal-access-tokens", {
        name: "l",
        user_id: user.body.id,
      });
      for (const u of c.urls) await statusOn(u, pat.body.key);
      const secret = (await api(a, c.adminKey, "POST", "/api/v1/webhooks/secrets", { name: "idp" })).body
        .secret as string;
      const res = await sendWebhook(a, secret, `idp-${Date.now()}`, {
        type: "user.deactivate",
        data: { email },
      });
      expect(res.body).toMatchObject({ matched: true });
      for (const u of c.urls) expect(await statusOn(u, pat.body.key)).toBe(401);

      await waitFor(
        async () => {
          const d = await api(a, c.adminKey, "GET", `/api/v1/webhooks/deliveries?endpoint_id=${ep.body.id}`);
          return (
            d.body.data.length === 2 && d.body.data.every((x: { status: string }) => x.status === "delivered")
          );
        },
        10_000,
        100,
      );
      const types = received.map((r) => JSON.parse(r.body).type);
      expect(types).toContain("key.created");
      expect(types).toContain("user.deactivated");
      for (const r of received) {
        const id = String(r.headers["webhook-id"]);
        const ts = String(r.headers["webhook-timestamp"]);
        expect(String(r.headers["webhook-signature"])).toBe(sign(ep.body.secret, id, ts, r.body));
      }
      expect(received.some((r) => r.body.includes(pat.body.key))).toBe(false);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
