import type { TestStack } from "../src/index.js";

/** A tiny client for the identity admin API, as a user with curl would call it. */
export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field.
  body: any;
}

export async function call(
  stack: TestStack,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

let counter = 0;
/** A member with one PAT, created by the admin. */
export async function newMember(stack: TestStack, adminKey: string, tag = "m") {
  counter++;
  const email = `${tag}-${counter}-${Date.now()}@example.com`;
  const user = await call(stack, adminKey, "POST", "/api/v1/users", { email, name: `Member ${counter}` });
  if (user.status !== 201) throw new Error(`create user: ${user.status} ${JSON.stringify(user.body)}`);
  const pat = await call(stack, adminKey, "POST", "/api/v1/personal-access-tokens", {
    name: "laptop",
    user_id: user.body.id,
  });
  if (pat.status !== 201) throw new Error(`create pat: ${pat.status} ${JSON.stringify(pat.body)}`);
  return { user: user.body, key: pat.body.key as string, tokenId: pat.body.id as string };
}
