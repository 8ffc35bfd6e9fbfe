#!/usr/bin/env node
import { cpus, release } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { createVirtualAccount, mintVat, revokeVat } from "./admin.js";
import { provision, REPO_ROOT, startGatehouse, Unavailable, verifyAndWarm } from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { startMockProcess } from "./mock-process.js";
import { Cleanup } from "./proc.js";
import { ms, table, writeResults } from "./report.js";
import {
  CHAT_PROBE,
  type KeyRun,
  MODELS_PROBE,
  measureRevoke,
  probeOnce,
  warmOnAll,
} from "./revocation-probe.js";
import { runStalled, type StalledResult } from "./revocation-stalled.js";
import { summarize } from "./stats.js";

/**
 * Revocation propagation (issue 6): 3 ingress replicas as separate processes plus auth, acl and
 * dispatch. For each key: mint, warm it on every replica, probe every replica continuously, revoke
 * through replica A, and record when each replica first refuses (401), how long the revoke call
 * took, and any 2xx to a probe sent after the revoke call returned (must be none). Then the same
 * while the access-event stream refuses every publish (issue 13; `revocation-stalled.ts`).
 */
const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const KEYS = Number(arg("keys") ?? process.env.REVOCATION_KEYS ?? 200);
const STALLED_KEYS = Number(arg("stalled-keys") ?? process.env.REVOCATION_STALLED_KEYS ?? 20);
const REPLICAS = 3;
const WRITE = !argv.includes("--no-write");
const log = (line: string) => process.stderr.write(`${line}\n`);
let probeLabel = "";

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
    if (!(await warmOnAll(gh.ingressUrls, vat.key, probe))) {
      failures.push(`key ${i}: not accepted on every replica before the revoke`);
      continue;
    }
    const { run, failure } = await measureRevoke(pools, vat.key, probe, () =>
      revokeVat(gh.admin, virtualAccountId, vat.id),
    );
    if (run) runs.push(run);
    if (failure) failures.push(`key ${i}: ${failure}`);
    if ((i + 1) % 50 === 0) log(`${i + 1}/${KEYS} revocations`);
  }
  let stalled: StalledResult | undefined;
  if (STALLED_KEYS > 0) {
    log(`${STALLED_KEYS} revocations while the access-event stream refuses publishes …`);
    stalled = await runStalled({
      natsUrl,
      prefix: gh.prefix,
      urls: gh.ingressUrls,
      pools,
      admin: gh.admin,
      virtualAccountId,
      probe,
      keys: STALLED_KEYS,
    });
  }
  return render(runs, failures, gh.database, stalled);
}

/** The figures and counts of one phase: the table, then what must be zero and what was seen. */
function renderRuns(runs: KeyRun[], failures: string[]): string[] {
  const prop = summarize(runs.map((r) => r.propagationMs).filter(Number.isFinite));
  const call = summarize(runs.map((r) => r.revokeMs));
  const reported = runs.flatMap((r) => (r.propagation ? [r.propagation] : []));
  const confirmed = summarize(reported.map((x) => x.elapsedMs));
  const accepts = runs.reduce((a, r) => a + r.acceptsAfterReturn, 0);
  const flips = runs.reduce((a, r) => a + r.flipBacks, 0);
  const other = runs.reduce((a, r) => a + r.otherStatuses, 0);
  const before = runs.filter((r) => r.refusedBeforeReturn).length;
  const row = (label: string, s: ReturnType<typeof summarize>) => [
    label,
    String(s.n),
    ms(s.p50),
    ms(s.p99),
    ms(s.max),
  ];
  const out: string[] = [];
  out.push(
    table(
      ["measurement (ms)", "n", "p50", "p99", "max"],
      [
        row("revoke call start → every replica refuses (401)", prop),
        row("revoke call latency (`DELETE …/tokens/:id` through replica A)", call),
        row("confirmed-revoke wait reported by the response", confirmed),
        ...[0, 1, 2].map((r) =>
          row(
            `replica ${"ABC"[r]} first refusal`,
            summarize(runs.map((x) => x.perReplicaMs[r] ?? Number.NaN).filter(Number.isFinite)),
          ),
        ),
      ],
    ),
  );
  out.push("");
  out.push(`- **2xx to probes sent after the revoke call returned: ${accepts}** (must be 0)`);
  out.push(`- 2xx after a replica had already refused the key (flip-back): ${flips}`);
  out.push(`- every replica refusing before the revoke call returned: ${before} of ${runs.length}`);
  out.push(`- probe answers other than 2xx/401: ${other}`);
  if (reported.length > 0) {
    const unpublished = reported.filter((x) => x.published === false).length;
    out.push(
      `- revoke responses with a propagation report: ${reported.length}; complete (all replicas confirmed): ${reported.filter((x) => x.complete).length}; not yet on the stream (\`published: false\`): ${unpublished}; replicas seen p50: ${summarize(reported.map((x) => x.replicas)).p50}`,
    );
  } else {
    out.push("- the revoke response carried no propagation report (replicas/confirmed/elapsedMs)");
  }
  if (failures.length > 0) out.push(`- **${failures.length} failures**: ${failures.slice(0, 5).join("; ")}`);
  return out;
}

function render(runs: KeyRun[], failures: string[], database: string, stalled?: StalledResult): string {
  const cpu = cpus();
  const out: string[] = [];
  out.push(`### Run of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`);
  out.push("");
  out.push(
    `Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Linux ${release()}, Node ${process.version}. ` +
      `${REPLICAS} ingress replicas + auth, acl, dispatch as separate processes on ${database}; ${runs.length} revocations ` +
      `(of ${KEYS} attempted), each replica probed back to back with \`${probeLabel}\`.`,
  );
  out.push("");
  out.push(...renderRuns(runs, failures));
  if (stalled) {
    out.push("");
    out.push("#### While the access-event stream refuses every publish");
    out.push("");
    out.push(
      `${stalled.runs.length} keys (of ${STALLED_KEYS}) warm on every replica; then the stream's \`max_msgs\` set to its ` +
        "message count with `discard: new` (core NATS unaffected), and each key revoked and probed as above.",
    );
    out.push("");
    out.push(...renderRuns(stalled.runs, stalled.failures));
    out.push(
      `- replicas not trusting their caches while the stream refused: ${stalled.untrustedWhileStalled} of ${REPLICAS}`,
    );
    out.push(`- stream restored → every replica trusts its caches again: ${ms(stalled.retrustMs)} ms`);
    out.push(
      `- **2xx to the revoked keys after the stream was restored: ${stalled.acceptedAfterRestore}** (must be 0: no event marked applied before it arrived)`,
    );
    out.push(
      `- a key minted after the restore accepted by every replica: ${stalled.freshAccepted ? "yes" : "no"}`,
    );
  }
  return out.join("\n");
}

/** Zero accepts after every revoke call returned, in every phase, and none after the restore. */
function held(md: string): boolean {
  const counts = [...md.matchAll(/after the revoke call returned: (\d+)\*\*/g)].map((m) => Number(m[1]));
  const restored = [...md.matchAll(/after the stream was restored: (\d+)\*\*/g)].map((m) => Number(m[1]));
  return counts.length > 0 && [...counts, ...restored].every((n) => n === 0);
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
  if (!held(md)) process.exitCode = 1;
  if (WRITE) writeResults(join(REPO_ROOT, "docs/benchmarks.md"), "bench:revocation", md);
} catch (err) {
  const reason = err instanceof Unavailable ? `unavailable: ${err.message}` : (err as Error).stack;
  log(`revocation benchmark: ${reason}`);
  process.exitCode = 1;
} finally {
  await cleanup.run();
}
setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
