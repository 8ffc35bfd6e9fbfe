import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NO_NATS_SECURITY } from "@gatehouse/bus";
import { generateKey } from "@gatehouse/keys";
import { createLogger } from "@gatehouse/kit";
import { type Stack, startStack } from "@gatehouse/launcher";
import { type MockUpstream, startOpenAIUpstream } from "@gatehouse/mock-upstreams";
import { createTestDatabase, type TestDatabase, testNatsUrl, testPrefix, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `/metrics` as an operator sees it under `pnpm start` (the launcher's one-process stack): every
 * service's series on ingress, labelled only by configured accounts and models.
 */
let db: TestDatabase;
let stack: Stack;
let upstream: MockUpstream;
let dataDir: string;
const adminKey = generateKey("pat");

async function call(path: string, body?: unknown, key = adminKey): Promise<Response> {
  return fetch(`${stack.ingress.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function scrape(): Promise<string> {
  const res = await fetch(`${stack.ingress.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample line, e.g. `name{a="b"}`; undefined when there is none. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const sampleLines = (text: string) => text.split("\n").filter((l) => l.length > 0 && !l.startsWith("#"));

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "gatehouse-metrics-"));
  upstream = await startOpenAIUpstream({ apiKey: "sk-upstream-metrics-1234567890" });
  stack = await startStack({
    env: {
      DATABASE_URL: db.url,
      GATEHOUSE_PREFIX: testPrefix(),
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      GATEHOUSE_MASTER_KEY: randomBytes(32).toString("base64"),
      GATEHOUSE_EGRESS_ALLOW: "127.0.0.1/32",
      PORT: "0",
      LOG_LEVEL: "warn",
      USAGE_FLUSH_MS: "50",
      // Even if set, the one-process stack opens no port per service (all is on ingress).
      METRICS_PORT: "1",
    },
    natsUrl: await testNatsUrl(),
    natsSecurity: NO_NATS_SECURITY,
    logger: createLogger({ level: "warn", service: "gatehouse" }),
    processMetrics: true,
  });
  const created = await call("/api/v1/provider-accounts", {
    name: "openai-main",
    type: "openai",
    base_url: upstream.url,
    credentials: { api_key: upstream.apiKey },
    models: [{ name: "gpt-4o-mini", kind: "chat" }],
  });
  expect(created.status).toBe(201);
  // Key and decision caches answer only while the access feed is trusted: wait for it, so the calls
  // below hit them however long the services took to start on a busy machine.
  await waitFor(async () => sample(await scrape(), "gatehouse_access_feed_trusted") === 1, 30_000);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await upstream?.close();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("/metrics under pnpm start", () => {
  it("shows every service's series for calls, streams, upstream errors and retries", async () => {
    const chat = { model: "openai-main/gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] };
    expect((await call("/v1/chat/completions", chat)).status).toBe(200);
    const stream = await call("/v1/chat/completions", { ...chat, stream: true });
    expect(stream.status).toBe(200);
    await stream.text();
    // One 500 retried into a 200, then a 400 the provider refuses (not retried).
    upstream.setNext({ kind: "httpError", status: 500 }, { kind: "answer" });
    expect((await call("/v1/chat/completions", chat)).status).toBe(200);
    upstream.setNext({ kind: "httpError", status: 400 });
    expect((await call("/v1/chat/completions", chat)).status).toBe(400);
    expect((await call("/v1/chat/completions", chat, generateKey("pat"))).status).toBe(401);

    const labels = 'account="openai-main",model="gpt-4o-mini"';
    let text = "";
    await waitFor(async () => {
      text = await scrape();
      return (sample(text, 'gatehouse_usage_records_total{stage="stored"}') ?? 0) >= 4;
    }, 20_000);
    // ingress
    expect(
      sample(text, `gatehouse_requests_total{route="/v1/chat/completions",status_class="2xx",${labels}}`),
    ).toBe(3);
    expect(
      sample(text, `gatehouse_requests_total{route="/v1/chat/completions",status_class="4xx",${labels}}`),
    ).toBe(1);
    // The unknown key never resolved a model: `other`.
    expect(
      sample(
        text,
        'gatehouse_requests_total{route="/v1/chat/completions",status_class="4xx",account="other",model="other"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        `gen_ai_server_request_duration_seconds_count{route="/v1/chat/completions",status_class="2xx",${labels}}`,
      ),
    ).toBe(3);
    expect(sample(text, 'gatehouse_cache_lookups_total{cache="key",result="hit"}')).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_cache_lookups_total{cache="decision",result="hit"}')).toBeGreaterThan(0);
    expect(
      sample(text, 'gatehouse_nats_request_duration_seconds_count{subject="dispatch.invoke",outcome="ok"}'),
    ).toBe(4); // the 401 never reached dispatch

    expect(
      sample(text, 'gatehouse_nats_request_duration_seconds_count{subject="auth.validate",outcome="ok"}'),
    ).toBeGreaterThan(0);
    // acl and dispatch verify admin actors with auth: their requests are in the same registry.
    expect(
      sample(text, 'gatehouse_nats_request_duration_seconds_count{subject="auth.actor.verify",outcome="ok"}'),
    ).toBeGreaterThan(0);
    expect(text).toContain("gatehouse_access_event_last_sequence");
    // dispatch
    expect(
      sample(text, `gen_ai_client_token_usage_count{${labels},operation="chat",token_type="input"}`),
    ).toBe(3);
    expect(
      sample(text, `gen_ai_client_token_usage_sum{${labels},operation="chat",token_type="output"}`),
    ).toBeGreaterThan(0);
    expect(sample(text, `gen_ai_server_time_to_first_token_seconds_count{${labels},operation="chat"}`)).toBe(
      1,
    );
    expect(
      sample(
        text,
        `gen_ai_client_operation_duration_seconds_count{${labels},operation="chat",status_class="2xx"}`,
      ),
    ).toBe(3);
    expect(sample(text, 'gatehouse_upstream_retries_total{account="openai-main",reason="status_5xx"}')).toBe(
      1,
    );
    expect(
      sample(
        text,
        'gatehouse_upstream_errors_total{account="openai-main",error_type="provider_invalid_request"}',
      ),
    ).toBe(1);
    expect(sample(text, 'gatehouse_usage_records_total{stage="published"}')).toBeGreaterThanOrEqual(4);
    expect(sample(text, "gatehouse_usage_records_buffered")).toBe(0);
    expect(sample(text, "gatehouse_usage_batches_unstored")).toBe(0);
    // The process's own series, once.
    expect(text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
  });

  it("adds no series and no label value for hostile model names", async () => {
    const hostile = (i: number) => [
      `openai-main/${randomBytes(12).toString("hex")}-${i}`,
      `${randomBytes(8).toString("hex")}/x"}\n{evil="${i}`,
      `no-slash-${i}`,
    ];
    const send = async (i: number) => {
      for (const model of hostile(i)) {
        const res = await call("/v1/chat/completions", { model, messages: [{ role: "user", content: "x" }] });
        expect(res.status).toBe(404);
        await res.arrayBuffer();
      }
    };
    await send(0); // the `other` series exist from here on
    const before = sampleLines(await scrape()).map((l) => l.slice(0, l.lastIndexOf(" ")));
    for (let i = 1; i <= 100; i++) await send(i);
    const after = await scrape();
    const series = sampleLines(after).map((l) => l.slice(0, l.lastIndexOf(" ")));
    // The same series, in number and name (the process's and Node's own series are fixed sets too).
    expect(new Set(series)).toEqual(new Set(before));
    expect(after).not.toMatch(/evil|no-slash|[0-9a-f]{24}-/);
    expect(
      sample(
        after,
        'gatehouse_requests_total{route="/v1/chat/completions",status_class="4xx",account="other",model="other"}',
      ),
    ).toBeGreaterThanOrEqual(303);
  });
});

describe("infra/grafana dashboard", () => {
  it("queries only series the code registers", async () => {
    const text = await scrape();
    const registered = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m as unknown as [string, string, string];
      registered.add(name);
      if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) registered.add(name + s);
    }
    const file = fileURLToPath(new URL("../../infra/grafana/dashboards/gatehouse.json", import.meta.url));
    const dashboard = JSON.parse(readFileSync(file, "utf8")) as unknown;
    const exprs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") {
        for (const [k, child] of Object.entries(v)) {
          if ((k === "expr" || k === "query") && typeof child === "string") exprs.push(child);
          else walk(child);
        }
      }
    };
    walk(dashboard);
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set(
      exprs.flatMap((e) => e.match(/\b(?:gatehouse|gen_ai|process|nodejs)_[a-z0-9_]+/g) ?? []),
    );
    expect([...used].filter((name) => !registered.has(name))).toEqual([]);
    // Every family Gatehouse registers has a panel.
    const families = [...text.matchAll(/^# TYPE ((?:gatehouse|gen_ai)_\S+) /gm)].map((m) => m[1] as string);
    const queried = families.filter((f) => [...used].some((u) => u.startsWith(f)));
    expect(families.filter((f) => !queried.includes(f))).toEqual([]);
  });
});
