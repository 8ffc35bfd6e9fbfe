import type { TestStack } from "../src/index.js";
import { call } from "./identity-api.js";

/** Helpers for the access-control admin API, called as a user with curl would. */
export async function must(
  stack: TestStack,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  status = 200,
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field.
): Promise<any> {
  const res = await call(stack, key, method, path, body);
  if (res.status !== status) {
    throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

/** A mock provider account; its models priced at `usdPerMTok` (input and output alike) when given. */
export async function createAccount(
  stack: TestStack,
  adminKey: string,
  name: string,
  models: string[],
  usdPerMTok?: number,
) {
  const price =
    usdPerMTok === undefined ? {} : { input_price_per_mtok: usdPerMTok, output_price_per_mtok: usdPerMTok };
  return must(
    stack,
    adminKey,
    "POST",
    "/api/v1/provider-accounts",
    {
      name,
      // The built-in mock provider needs neither a base URL nor credentials (and refuses them).
      type: "mock",
      models: models.map((m) => ({ name: m, kind: "chat", ...price })),
    },
    201,
  );
}

export async function grant(
  stack: TestStack,
  key: string,
  account: string,
  subject: { kind: "user" | "team" | "virtual_account"; id: string },
  role: "user" | "manager" = "user",
) {
  return must(stack, key, "POST", `/api/v1/provider-accounts/${account}/grants`, { subject, role }, 201);
}

/** A new team with `userId` in it. */
export async function teamWith(stack: TestStack, adminKey: string, name: string, userId: string) {
  const team = await must(stack, adminKey, "POST", "/api/v1/teams", { name }, 201);
  await must(stack, adminKey, "POST", `/api/v1/teams/${team.id}/members`, { user_id: userId }, 201);
  return team;
}

/** A new team with `userId` in it, granted `account`. */
export async function teamOnAccount(
  stack: TestStack,
  adminKey: string,
  name: string,
  userId: string,
  account: string,
) {
  const team = await teamWith(stack, adminKey, name, userId);
  await grant(stack, adminKey, account, { kind: "team", id: team.id });
  return team;
}

export async function newVirtualAccount(stack: TestStack, adminKey: string, name: string) {
  const va = await must(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name }, 201);
  const token = await must(
    stack,
    adminKey,
    "POST",
    `/api/v1/virtual-accounts/${va.id}/tokens`,
    { name: "ci" },
    201,
  );
  return { va, key: token.key as string };
}

/** A virtual account granted `account`, with a key: an app calling it. */
export async function appWithKey(stack: TestStack, adminKey: string, account: string, name: string) {
  const { va, key } = await newVirtualAccount(stack, adminKey, `${name}-${Date.now()}`);
  await grant(stack, adminKey, account, { kind: "virtual_account", id: va.id });
  return { vaId: va.id as string, key };
}

/** A chat call to `<account>/echo` through one ingress replica, the body's fields overriding the default. */
export function chatThrough(
  baseUrl: string | undefined,
  key: string,
  account: string,
  body: Record<string, unknown>,
) {
  return fetch(`${baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: `${account}/echo`, messages: [{ role: "user", content: "hi" }], ...body }),
  });
}

export async function modelIds(stack: TestStack, key: string): Promise<string[]> {
  const list = await must(stack, key, "GET", "/v1/models");
  return (list.data as Array<{ id: string }>).map((m) => m.id);
}
