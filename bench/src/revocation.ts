#!/usr/bin/env node
import { cpus, release } from "node:os";
import { join } from "node:path";
import { Pool, request } from "undici";
import { createVirtualAccount, mintVat, revokeVat } from "./admin.js";
import {
  gatehouseModel,
  provision,
  REPO_ROOT,
  startGatehouse,
  Unavailable,
  verifyAndWarm,
} from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { startMockProcess } from "./mock-process.js";
import { Cleanup, sleep } from "./proc.js";
import { ms, table, writeResults } from "./report.js";
import { summarize } from "./stats.js";
import { chatBody } from "./targets.js";

/**
 * Revocation propagation (issue 6): 3 ingress replicas as separate processes plus auth, acl and
 * dispatch. For each key: mint, warm it on every replica, probe every replica continuously, revoke
 * through replica A, and record when each replica first refuses (401), how long the revoke call
 * took, and any 2xx to a probe sent after the revoke call returned (must be none).
 */
const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const KEYS = Number(arg("keys") ?? process.env.REVOCATION_KEYS ?? 200);
const REPLICAS = 3;
/** After the last replica refuses, keep probing this long to catch a replica that flips back. */
const TAIL_MS = Number(process.env.REVOCATION_TAIL_MS ?? 50);
const PER_KEY_TIMEOUT_MS = 10_000;
const WRITE = !argv.includes("--no-write");
const log = (line: string) => process.stderr.write(`${line}\n`);
let probeLabel = "";

interface Probe {
  sentAt: number;
  receivedAt: number;
  status: number;
}

interface KeyRun {
  propagationMs: number;
  revokeMs: number;
  perReplicaMs: number[];
  acceptsAfterReturn: number;
  flipBacks: number;
  otherStatuses: number;
  refusedBeforeReturn: boolean;
  propagation: Awaited<ReturnType<typeof revokeVat>>["propagation"];
}

/** One replica's continuous probe: sequential requests over one keep-alive connection until stopped. */
async function probeLoop(
  pool: Pool,
  key: string,
  probe: ProbeRequest,
  stop: { done: boolean },
  out: Probe[],
) {
  while (!stop.done) {
    const sentAt = performance.now();
    try {
      const res = await pool.request({
        path: probe.path,
        method: probe.method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: probe.body,
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      await res.body.dump();
      out.push({ sentAt, receivedAt: performance.now(), status: res.statusCode });
    } catch {
      out.push({ sentAt, receivedAt: performance.now(), status: 0 });
      await sleep(5);
    }
  }
}

interface ProbeRequest {
  method: "GET" | "POST";
  path: string;
  body: string | undefined;
}

/** The full request path when chat completions can be provisioned; else `GET /v1/models` (auth + acl). */
const CHAT_PROBE: ProbeRequest = {
  method: "POST",
  path: "/v1/chat/completions",
  body: chatBody(gatehouseModel("small"), false),
};
const MODELS_PROBE: ProbeRequest = { method: "GET", path: "/v1/models", body: undefined };

async function probeOnce(base: string, key: string, probe: ProbeRequest): Promise<number> {
  const res = await request(`${base}${probe.path}`, {
    method: probe.method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: probe.body,
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });
  await res.body.dump();
  return res.statusCode;
}

async function main(cleanup: Cleanup): Promise<string> {
  const natsUrl = await obtainNats(cleanup);
  const mock = await startMockProcess(cleanup);
  log(`starting auth, acl, dispatch and ${REPLICAS} ingress replicas …`);
  const gh = await startGatehouse({
    shape: "separate",
    natsUrl,
    cleanup,
    ingressReplicas: REPLICAS,
    // The probes hammer each revoked key from one address; what is measured is when it is refused,
    // so its failures must keep answering 401 rather than the limiter's 429.
    env: { FAILED_AUTH_BURST: "1000000" },
  });
  let probe = CHAT_PROBE;
  let virtualAccountId: string;
  try {
    const p = await provision(gh, mock.url);
    await verifyAndWarm(gh, p);
    virtualAccountId = p.virtualAccountId;
  } catch (err) {
    if (!(err instanceof Unavailable)) throw err;
    log(`chat completions not available (${err.message}); probing GET /v1/models instead`);
    probe = MODELS_PROBE;
    virtualAccountId = await createVirtualAccount(gh.admin, "bench-revocation");
    const k = await mintVat(gh.admin, virtualAccountId, "check");
    const status = await probeOnce(gh.ingressUrls[0] ?? "", k.key, probe);
    if (status !== 200) throw new Unavailable(`GET /v1/models with a fresh VAT → ${status}`);
  }
  probeLabel = `${probe.method} ${probe.path}`;
  const pools = gh.ingressUrls.map((u) => new Pool(u, { connections: 2 }));
  cleanup.add("close probe pools", async () => {
    await Promise.all(pools.map((x) => x.close()));
  });
  const runs: KeyRun[] = [];
  const failures: string[] = [];

  for (let i = 0; i < KEYS; i++) {
    const vat = await mintVat(gh.admin, virtualAccountId, `revoke-${i}`);
    // Warm: the key must be cached as valid on every replica before the revoke.
    let warm = true;
    for (const base of gh.ingressUrls) {
      let ok = false;
      for (let t = 0; t < 20 && !ok; t++) {
        ok = (await probeOnce(base, vat.key, probe)) === 200;
        if (!ok) await sleep(25);
      }
      warm &&= ok;
    }
    if (!warm) {
      failures.push(`key ${i}: not accepted on every replica before the revoke`);
      continue;
    }
    const stop = { done: false };
    const probes: Probe[][] = pools.map(() => []);
    const loops = pools.map((pool, r) => probeLoop(pool, vat.key, probe, stop, probes[r] ?? []));
    await sleep(10);
    const t0 = performance.now();
    const revoke = await revokeVat(gh.admin, virtualAccountId, vat.id);
    const t1 = performance.now();
    if (revoke.status !== 200) {
      stop.done = true;
      await Promise.all(loops);
      failures.push(`key ${i}: revoke answered ${revoke.status}`);
      continue;
    }
    // Probe until every replica has refused, then a little longer, bounded.
    const deadline = t0 + PER_KEY_TIMEOUT_MS;
    let allRefusedAt = Number.NaN;
    while (performance.now() < deadline) {
      const firsts = probes.map((list) => list.find((x) => x.sentAt >= t0 && x.status === 401)?.receivedAt);
      if (firsts.every((x) => x !== undefined)) {
        allRefusedAt = Math.max(...(firsts as number[]));
        if (performance.now() >= Math.max(allRefusedAt, t1) + TAIL_MS) break;
      }
      await sleep(2);
    }
    stop.done = true;
    await Promise.all(loops);
    if (!Number.isFinite(allRefusedAt)) {
      failures.push(`key ${i}: not refused by every replica within ${PER_KEY_TIMEOUT_MS} ms`);
    }
    const perReplicaMs = probes.map((list) => {
      const first = list.find((x) => x.sentAt >= t0 && x.status === 401);
      return first ? first.receivedAt - t0 : Number.NaN;
    });
    let acceptsAfterReturn = 0;
    let flipBacks = 0;
    let otherStatuses = 0;
    for (const list of probes) {
      let refused = false;
      for (const x of list) {
        const ok = x.status >= 200 && x.status < 300;
        if (ok && x.sentAt >= t1) acceptsAfterReturn++;
        if (ok && refused) flipBacks++;
        if (x.status === 401 && x.sentAt >= t0) refused = true;
        if (!ok && x.status !== 401) otherStatuses++;
      }
    }
    runs.push({
      propagationMs: allRefusedAt - t0,
      revokeMs: t1 - t0,
      perReplicaMs,
      acceptsAfterReturn,
      flipBacks,
      otherStatuses,
      refusedBeforeReturn: allRefusedAt <= t1,
      propagation: revoke.propagation,
    });
    if ((i + 1) % 50 === 0) log(`${i + 1}/${KEYS} revocations`);
  }
  return render(runs, failures, gh.database);
}

function render(runs: KeyRun[], failures: string[], database: string): string {
  const cpu = cpus();
  const prop = summarize(runs.map((r) => r.propagationMs).filter(Number.isFinite));
  const call = summarize(runs.map((r) => r.revokeMs));
  const reported = runs.flatMap((r) => (r.propagation ? [r.propagation] : []));
  const confirmed = summarize(reported.map((x) => x.elapsedMs));
  const accepts = runs.reduce((a, r) => a + r.acceptsAfterReturn, 0);
  const flips = runs.reduce((a, r) => a + r.flipBacks, 0);
  const other = runs.reduce((a, r) => a + r.otherStatuses, 0);
  const before = runs.filter((r) => r.refusedBeforeReturn).length;
  const out: string[] = [];
  out.push(`### Run of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`);
  out.push("");
  out.push(
    `Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Linux ${release()}, Node ${process.version}. ` +
      `${REPLICAS} ingress replicas + auth, acl, dispatch as separate processes on ${database}; ${runs.length} revocations ` +
      `(of ${KEYS} attempted), each replica probed back to back with \`${probeLabel}\`.`,
  );
  out.push("");
  out.push(
    table(
      ["measurement (ms)", "n", "p50", "p99", "max"],
      [
        [
          "revoke call start → every replica refuses (401)",
          String(prop.n),
          ms(prop.p50),
          ms(prop.p99),
          ms(prop.max),
        ],
        [
          "revoke call latency (`DELETE …/tokens/:id` through replica A)",
          String(call.n),
          ms(call.p50),
          ms(call.p99),
          ms(call.max),
        ],
        [
          "confirmed-revoke wait reported by the response",
          String(confirmed.n),
          ms(confirmed.p50),
          ms(confirmed.p99),
          ms(confirmed.max),
        ],
        ...[0, 1, 2].map((r) => {
          const s = summarize(runs.map((x) => x.perReplicaMs[r] ?? Number.NaN).filter(Number.isFinite));
          return [`replica ${"ABC"[r]} first refusal`, String(s.n), ms(s.p50), ms(s.p99), ms(s.max)];
        }),
      ],
    ),
  );
  out.push("");
  out.push(`- **2xx to probes sent after the revoke call returned: ${accepts}** (must be 0)`);
  out.push(`- 2xx after a replica had already refused the key (flip-back): ${flips}`);
  out.push(`- every replica refusing before the revoke call returned: ${before} of ${runs.length}`);
  out.push(`- probe answers other than 2xx/401: ${other}`);
  if (reported.length > 0) {
    out.push(
      `- revoke responses with a propagation report: ${reported.length}; complete (all replicas confirmed): ${reported.filter((x) => x.complete).length}; replicas seen p50: ${summarize(reported.map((x) => x.replicas)).p50}`,
    );
  } else {
    out.push("- the revoke response carried no propagation report (replicas/confirmed/elapsedMs)");
  }
  if (failures.length > 0) out.push(`- **${failures.length} failures**: ${failures.slice(0, 5).join("; ")}`);
  return out.join("\n");
}

const cleanup = new Cleanup();
const onSignal = () => void cleanup.run().then(() => process.exit(130));
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);
const hardStop = setTimeout(() => {
  log("revocation benchmark exceeded 20 minutes; cleaning up");
  void cleanup.run().then(() => process.exit(2));
}, 20 * 60_000);
hardStop.unref();
try {
  const md = await main(cleanup);
  process.stdout.write(`\n${md}\n`);
  if (md.includes("after the revoke call returned: 0**") === false) process.exitCode = 1;
  if (WRITE) writeResults(join(REPO_ROOT, "docs/benchmarks.md"), "bench:revocation", md);
} catch (err) {
  const reason = err instanceof Unavailable ? `unavailable: ${err.message}` : (err as Error).stack;
  log(`revocation benchmark: ${reason}`);
  process.exitCode = 1;
} finally {
  await cleanup.run();
}
setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
