import { randomBytes } from "node:crypto";
import { generateKey } from "@gatehouse/keys";
import { startTcpProxy, type TcpProxy } from "@gatehouse/testkit";
import { type ServiceProcess, spawnService, startTestStack, type TestStack } from "../src/index.js";

/** The lease the replicas run with: short, so the partition tests stay fast. */
export const LEASE_MS = 1_000;

export interface Cluster {
  stack: TestStack;
  adminKey: string;
  /** Three ingress processes; the last reaches NATS through `proxy`. */
  replicas: ServiceProcess[];
  urls: string[];
  proxy: TcpProxy;
  stop(): Promise<void>;
}

/**
 * auth, acl and dispatch in this process (each with its own NATS connection), and three ingress
 * replicas as separate processes, as production runs them. Needs `pnpm -r build` first.
 */
export async function startCluster(): Promise<Cluster> {
  const adminKey = generateKey("pat");
  const stack = await startTestStack({
    ingressReplicas: 0,
    env: {
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      ACCESS_LEASE_MS: String(LEASE_MS),
      AUTH_WEBHOOK_KEY: randomBytes(32).toString("base64"),
      AUTH_WEBHOOK_POLL_MS: "100",
      AUTH_WEBHOOK_RETRY_BASE_MS: "200",
      PRESENCE_INTERVAL_MS: "200",
    },
  });
  const nats = new URL(stack.env.NATS_URL ?? "nats://127.0.0.1:4222");
  const proxy = await startTcpProxy(nats.hostname, Number(nats.port || 4222));
  const replicas: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.allSettled(
      replicas.map((r) => {
        r.resume();
        return r.kill("SIGKILL");
      }),
    );
    await proxy.close();
    await stack.stop();
  };
  try {
    for (let i = 0; i < 3; i++) {
      const natsUrl = i === 2 ? `nats://127.0.0.1:${proxy.port}` : (stack.env.NATS_URL ?? "");
      replicas.push(
        await spawnService("ingress", {
          NATS_URL: natsUrl,
          GATEHOUSE_PREFIX: stack.prefix,
          PORT: "0",
          ACCESS_LEASE_MS: String(LEASE_MS),
          PRESENCE_INTERVAL_MS: "200",
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stack, adminKey, replicas, urls: replicas.map((r) => r.url ?? ""), proxy, stop };
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field.
  body: any;
}

export async function api(
  base: string,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** What a replica answers a key right now (a cheap authenticated call). */
export async function statusOn(base: string, key: string): Promise<number> {
  try {
    return (await api(base, key, "GET", "/api/v1/me")).status;
  } catch {
    return 0;
  }
}

/** A fresh virtual account token, accepted (and so cached) on every given replica. */
export async function warmVat(c: Cluster, vaId: string, urls = c.urls): Promise<{ id: string; key: string }> {
  const base = c.urls[0] ?? "";
  const r = await api(base, c.adminKey, "POST", `/api/v1/virtual-accounts/${vaId}/tokens`, { name: "k" });
  if (r.status !== 201) throw new Error(`mint: ${r.status}`);
  for (const u of urls) for (let i = 0; i < 2; i++) await statusOn(u, r.body.key);
  return { id: r.body.id, key: r.body.key };
}

/**
 * Probe `base` with `key` back to back until `stop.done`, recording when each answer's request was
 * sent; bounded by `maxMs`.
 */
export async function probe(
  base: string,
  key: string,
  stop: { done: boolean },
  out: Array<{ sentAt: number; status: number }>,
  maxMs = 15_000,
): Promise<void> {
  const end = Date.now() + maxMs;
  while (!stop.done && Date.now() < end) {
    const sentAt = performance.now();
    out.push({ sentAt, status: await statusOn(base, key) });
  }
}
