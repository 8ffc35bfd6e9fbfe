import { request } from "undici";

/**
 * The few admin calls the benchmark needs, over Gatehouse's REST admin API. Field spellings that
 * were still being settled when this was written are tried in order; the first accepted one wins.
 */
export class AdminApiError extends Error {}

export interface AdminClient {
  base: string;
  key: string;
}

type Json = Record<string, unknown>;

export async function call(
  client: AdminClient,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json; ms: number }> {
  const started = performance.now();
  const res = await request(`${client.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${client.key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  const ms = performance.now() - started;
  let json: Json = {};
  try {
    json = text ? (JSON.parse(text) as Json) : {};
  } catch {
    json = { raw: text.slice(0, 300) };
  }
  return { status: res.statusCode, json, ms };
}

async function firstAccepted(client: AdminClient, path: string, bodies: unknown[]): Promise<Json> {
  let last = "";
  for (const body of bodies) {
    const r = await call(client, "POST", path, body);
    if (r.status >= 200 && r.status < 300) return r.json;
    last = `POST ${path} → ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`;
    // Only a validation refusal is worth another spelling; anything else is the answer.
    if (r.status !== 400 && r.status !== 422) break;
  }
  throw new AdminApiError(last);
}

function idOf(json: Json, what: string): string {
  const nested = json.apiKey as Json | undefined;
  const id = json.id ?? nested?.id;
  if (typeof id !== "string")
    throw new AdminApiError(`${what}: no id in ${JSON.stringify(json).slice(0, 200)}`);
  return id;
}

/** A model with a price (USD per million tokens, input and output alike): what budgets count. */
export interface PricedModel {
  name: string;
  usdPerMTok: number;
}

export async function createProviderAccount(
  client: AdminClient,
  name: string,
  baseUrl: string,
  models: readonly (string | PricedModel)[],
  options: Json = {},
): Promise<void> {
  const list = models.map((m) =>
    typeof m === "string"
      ? { name: m, kind: "chat" }
      : {
          name: m.name,
          kind: "chat",
          input_price_per_mtok: m.usdPerMTok,
          output_price_per_mtok: m.usdPerMTok,
        },
  );
  const credentials = { apiKey: "sk-bench-not-a-real-key" };
  await firstAccepted(client, "/api/v1/provider-accounts", [
    { name, type: "openai", base_url: baseUrl, credentials, models: list, options },
    { name, type: "openai", baseUrl, credentials, models: list, options },
  ]);
}

export async function createVirtualAccount(client: AdminClient, name: string): Promise<string> {
  const json = await firstAccepted(client, "/api/v1/virtual-accounts", [{ name, description: "benchmark" }]);
  return idOf(json, "virtual account");
}

export async function grantUser(
  client: AdminClient,
  account: string,
  virtualAccountId: string,
): Promise<void> {
  await firstAccepted(client, `/api/v1/provider-accounts/${account}/grants`, [
    { subject: { kind: "virtual_account", id: virtualAccountId }, role: "user" },
    { subject_kind: "virtual_account", subject_id: virtualAccountId, role: "user" },
  ]);
}

/** A rate limit on a virtual account (docs/governance.md). */
export async function createRateLimit(
  client: AdminClient,
  virtualAccountId: string,
  limit: { requests_per_minute?: number; tokens_per_minute?: number },
): Promise<string> {
  const r = await call(client, "POST", "/api/v1/rate-limits", {
    subject: { kind: "virtual_account", id: virtualAccountId },
    ...limit,
  });
  if (r.status !== 201)
    throw new AdminApiError(`POST /api/v1/rate-limits → ${r.status} ${JSON.stringify(r.json)}`);
  return idOf(r.json, "rate limit");
}

/** A budget on a virtual account (docs/governance.md#budgets). */
export async function createBudget(
  client: AdminClient,
  virtualAccountId: string,
  budget: { max_usd: number; period: "day" | "week" | "month" },
): Promise<string> {
  const r = await call(client, "POST", "/api/v1/budgets", {
    subject: { kind: "virtual_account", id: virtualAccountId },
    ...budget,
  });
  if (r.status !== 201)
    throw new AdminApiError(`POST /api/v1/budgets → ${r.status} ${JSON.stringify(r.json)}`);
  return idOf(r.json, "budget");
}

export interface MintedKey {
  id: string;
  key: string;
}

export async function mintVat(
  client: AdminClient,
  virtualAccountId: string,
  name: string,
): Promise<MintedKey> {
  const json = await firstAccepted(client, `/api/v1/virtual-accounts/${virtualAccountId}/tokens`, [{ name }]);
  const key = json.key;
  if (typeof key !== "string") throw new AdminApiError("token creation answered without a key");
  return { id: idOf(json, "token"), key };
}

export interface RevokeResult {
  status: number;
  ms: number;
  /** The propagation report, when the revoke response carries one. */
  propagation:
    | {
        replicas: number;
        confirmed: number;
        elapsedMs: number;
        complete: boolean;
        /** False when the event had not reached the stream yet; absent from builds that do not say. */
        published?: boolean;
      }
    | undefined;
}

export async function revokeVat(
  client: AdminClient,
  virtualAccountId: string,
  tokenId: string,
): Promise<RevokeResult> {
  const r = await call(client, "DELETE", `/api/v1/virtual-accounts/${virtualAccountId}/tokens/${tokenId}`);
  return { status: r.status, ms: r.ms, propagation: findPropagation(r.json) };
}

/** Finds `{replicas, confirmed, elapsedMs|elapsed_ms, complete}` anywhere in a response. */
function findPropagation(value: unknown, depth = 0): RevokeResult["propagation"] {
  if (!value || typeof value !== "object" || depth > 4) return undefined;
  const o = value as Json;
  const elapsed = o.elapsedMs ?? o.elapsed_ms;
  if (typeof o.replicas === "number" && typeof o.confirmed === "number" && typeof elapsed === "number") {
    return {
      replicas: o.replicas,
      confirmed: o.confirmed,
      elapsedMs: elapsed,
      complete: o.complete === true,
      ...(typeof o.published === "boolean" ? { published: o.published } : {}),
    };
  }
  for (const v of Object.values(o)) {
    const found = findPropagation(v, depth + 1);
    if (found) return found;
  }
  return undefined;
}
