import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKey } from "@gatehouse/keys";
import { nodeMemoryFlags } from "@gatehouse/kit";
import { request } from "undici";
import {
  type AdminClient,
  createProviderAccount,
  createVirtualAccount,
  grantUser,
  type MintedKey,
  mintVat,
} from "./admin.js";
import { createDatabase, tempDir } from "./infra.js";
import { BENCH_MODELS } from "./mock-upstream.js";
import { type Child, type Cleanup, freePort, spawnNode, waitForHttp } from "./proc.js";
import { chatBody, type MeasuredProcess, responsesBody, TARGET_LABELS, type Target } from "./targets.js";

/**
 * Starting Gatehouse for the benchmark and setting it up through its admin API, so that every
 * measured call is authenticated (a real VAT) and access-checked (a grant on the provider account).
 * Everything that depends on APIs still landing lives here.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ACCOUNT = "bench-openai";

export class Unavailable extends Error {}

export type Shape = "one" | "separate";
export type BusService = "auth" | "acl" | "dispatch";

export interface GatehouseOptions {
  shape: Shape;
  natsUrl: string;
  /** Ingress replicas (separate shape only). */
  ingressReplicas?: number;
  cleanup: Cleanup;
  echo?: boolean;
  /** Extra node flags for every Gatehouse process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Extra environment for every Gatehouse process (e.g. a setting to compare). */
  env?: Record<string, string>;
  /** The checkout whose built dist/ is started (default: this one); `pnpm bench:ab` starts two. */
  root?: string;
  /**
   * "postgres" (default): a fresh database on the local Postgres, PGlite only when none answers;
   * "pglite": embedded PGlite, the default of `pnpm start` on a laptop.
   */
  database?: "postgres" | "pglite";
}

export interface RunningGatehouse {
  shape: Shape;
  prefix: string;
  database: string;
  /** Base URL of each ingress (one for the one-process shape). */
  ingressUrls: string[];
  admin: AdminClient;
  processes: (MeasuredProcess & { child: Child })[];
}

function baseEnv(options: {
  natsUrl: string;
  prefix: string;
  databaseUrl: string | undefined;
  dataDir: string;
}) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    NATS_URL: options.natsUrl,
    GATEHOUSE_PREFIX: options.prefix,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    GATEHOUSE_DATA_DIR: options.dataDir,
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    // The mock upstream listens on 127.0.0.1; allowed explicitly, as an operator allows a
    // self-hosted upstream (the separate-process shape runs without local mode).
    GATEHOUSE_EGRESS_ALLOW: "127.0.0.1/32",
  };
}

/** Start one shape and wait until /readyz says ready; throws Unavailable with the reason otherwise. */
export async function startGatehouse(options: GatehouseOptions): Promise<RunningGatehouse> {
  const { shape, cleanup } = options;
  const entry = (path: string) => join(options.root ?? REPO_ROOT, path);
  const needed =
    shape === "one"
      ? ["packages/launcher/dist/main.js"]
      : ["auth", "acl", "dispatch", "ingress"].map((s) => `services/${s}/dist/main.js`);
  const missing = needed.filter((p) => !existsSync(entry(p)));
  if (missing.length > 0) throw new Unavailable(`not built (${missing.join(", ")}): run pnpm build`);

  const prefix = `bench${randomBytes(4).toString("hex")}`;
  const db =
    options.database === "pglite"
      ? { url: undefined, describe: "embedded PGlite" }
      : await createDatabase(cleanup, shape);
  const adminKey = generateKey("pat");
  const secrets = {
    GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString("base64"),
  };
  const processes: RunningGatehouse["processes"] = [];
  const ingressUrls: string[] = [];
  const spawnService = (name: string, script: string, extra: Record<string, string>) => {
    const env = {
      ...baseEnv({ natsUrl: options.natsUrl, prefix, databaseUrl: db.url, dataDir: tempDir(cleanup, name) }),
      ...secrets,
      ...options.env,
      ...extra,
    };
    // Started the way `pnpm start` and the container image start them, with the flags
    // bin/gatehouse-node gives this environment (nodeMemoryFlags); --node-arg values come later and win.
    const args = [...nodeMemoryFlags(env), ...(options.nodeArgs ?? []), entry(script)];
    const child = spawnNode({ name, args, env, echo: options.echo ?? false }, cleanup);
    processes.push({ name, pid: child.pid, child });
    return child;
  };

  try {
    if (shape === "one") {
      const port = await freePort();
      const child = spawnService("gatehouse", "packages/launcher/dist/main.js", { PORT: String(port) });
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(child, `${url}/readyz`, 90_000, (s) => s === 200);
      ingressUrls.push(url);
    } else {
      // Bus services first (they migrate their schemas), then the ingress replicas.
      const bus = (["auth", "acl", "dispatch"] as const).map((s) =>
        spawnService(s, `services/${s}/dist/main.js`, {}),
      );
      const replicas: { child: Child; url: string }[] = [];
      for (let i = 0; i < (options.ingressReplicas ?? 1); i++) {
        const port = await freePort();
        const name = options.ingressReplicas && options.ingressReplicas > 1 ? `ingress-${i + 1}` : "ingress";
        const child = spawnService(name, "services/ingress/dist/main.js", { PORT: String(port) });
        replicas.push({ child, url: `http://127.0.0.1:${port}` });
      }
      for (const r of replicas) {
        await waitForHttp(r.child, `${r.url}/readyz`, 90_000, (s) => s === 200);
        ingressUrls.push(r.url);
      }
      for (const b of bus) if (b.exited()) throw new Error(`${b.name} exited: ${b.output().slice(-500)}`);
    }
  } catch (err) {
    throw new Unavailable(`did not start: ${(err as Error).message}`);
  }
  return {
    shape,
    prefix,
    database: db.describe,
    ingressUrls,
    admin: { base: ingressUrls[0] ?? "", key: adminKey },
    processes: processes.map(({ name, pid, child }) => ({ name, pid, child })),
  };
}

export interface Provisioned {
  virtualAccountId: string;
  vat: MintedKey;
}

/** Provider account → the mock, a virtual account with a `user` grant on it, and one VAT. */
/**
 * `accountOptions` go to the provider account as given, e.g. `{ responses_api: "translated" }`: the
 * bench mock has no Responses endpoint, so Responses calls are answered through its chat completions.
 */
export async function provision(
  gh: RunningGatehouse,
  mockUrl: string,
  accountOptions: Record<string, unknown> = {},
): Promise<Provisioned> {
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new Unavailable(`${what}: ${(err as Error).message}`);
    }
  };
  await step("create provider account", () =>
    createProviderAccount(gh.admin, ACCOUNT, `${mockUrl}/v1`, BENCH_MODELS, accountOptions),
  );
  const virtualAccountId = await step("create virtual account", () =>
    createVirtualAccount(gh.admin, "bench-app"),
  );
  await step("grant", () => grantUser(gh.admin, ACCOUNT, virtualAccountId));
  const vat = await step("create VAT", () => mintVat(gh.admin, virtualAccountId, "bench"));
  return { virtualAccountId, vat };
}

export function gatehouseModel(kind: "small" | "stream200" | "ttfb"): string {
  return `${ACCOUNT}/${kind === "small" ? "bench-small" : kind === "stream200" ? "bench-c200-d0" : "bench-c20-d5"}`;
}

export async function chatOnce(
  base: string,
  key: string,
  model = gatehouseModel("small"),
): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const res = await request(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: chatBody(model, false),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: performance.now() - started };
}

/**
 * Proves the measured path is the real one: the VAT gets a completion from the mock, an unknown
 * well-formed key gets 401, and a VAT of a virtual account without a grant gets 403/404. Then warms
 * the caches with a few calls.
 */
export async function verifyAndWarm(gh: RunningGatehouse, p: Provisioned): Promise<void> {
  for (const base of gh.ingressUrls) {
    const ok = await chatOnce(base, p.vat.key);
    if (ok.status !== 200 || !ok.text.includes("mock upstream")) {
      throw new Unavailable(`chat completion through ${base} → ${ok.status} ${ok.text.slice(0, 300)}`);
    }
    const unknown = await chatOnce(base, generateKey("vat"));
    if (unknown.status !== 401) {
      throw new Unavailable(`auth not enforced: an unknown key got ${unknown.status} (expected 401)`);
    }
    for (let i = 0; i < 20; i++) await chatOnce(base, p.vat.key);
  }
  const outsiderId = await createVirtualAccount(gh.admin, "bench-no-grant");
  const outsider = await mintVat(gh.admin, outsiderId, "no-grant");
  const denied = await chatOnce(gh.ingressUrls[0] ?? "", outsider.key);
  if (denied.status !== 403 && denied.status !== 404) {
    throw new Unavailable(`access control not enforced: a VAT without a grant got ${denied.status}`);
  }
}

/** The same account and model through `POST /v1/responses` instead of chat completions. */
export function gatehouseResponsesTarget(gh: RunningGatehouse, p: Provisioned): Target {
  return {
    ...gatehouseTarget(gh, p),
    label: "Responses API (translated to chat)",
    url: `${gh.ingressUrls[0]}/v1/responses`,
    body: responsesBody,
  };
}

export function gatehouseTarget(gh: RunningGatehouse, p: Provisioned): Target {
  const key = gh.shape === "one" ? "gatehouse-one" : "gatehouse-separate";
  return {
    key,
    label: TARGET_LABELS[key],
    url: `${gh.ingressUrls[0]}/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: `Bearer ${p.vat.key}` },
    model: gatehouseModel,
    processes: gh.processes.map(({ name, pid }) => ({ name, pid })),
  };
}
