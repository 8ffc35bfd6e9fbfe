import { type Pool, request } from "undici";
import type { RevokeResult } from "./admin.js";
import { gatehouseModel } from "./gatehouse.js";
import { sleep } from "./proc.js";
import { chatBody } from "./targets.js";

/**
 * What `pnpm bench:revocation` does for one key, in every phase: probe every replica back to back
 * while the key is revoked through replica A, then count what each replica answered and when.
 */
export interface ProbeRequest {
  method: "GET" | "POST";
  path: string;
  body: string | undefined;
}

/** The full request path when chat completions can be provisioned; else `GET /v1/models` (auth + acl). */
export const CHAT_PROBE: ProbeRequest = {
  method: "POST",
  path: "/v1/chat/completions",
  body: chatBody(gatehouseModel("small"), false),
};
export const MODELS_PROBE: ProbeRequest = { method: "GET", path: "/v1/models", body: undefined };

interface Probe {
  sentAt: number;
  receivedAt: number;
  status: number;
}

export interface KeyRun {
  propagationMs: number;
  revokeMs: number;
  perReplicaMs: number[];
  acceptsAfterReturn: number;
  flipBacks: number;
  otherStatuses: number;
  refusedBeforeReturn: boolean;
  propagation: RevokeResult["propagation"];
}

/** After the last replica refuses, keep probing this long to catch a replica that flips back. */
const TAIL_MS = Number(process.env.REVOCATION_TAIL_MS ?? 50);
const PER_KEY_TIMEOUT_MS = 10_000;

/** The probe as undici request options (path separate: a pool has its origin). */
function options(key: string, probe: ProbeRequest) {
  return {
    method: probe.method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: probe.body,
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  };
}

export async function probeOnce(base: string, key: string, probe: ProbeRequest): Promise<number> {
  const res = await request(`${base}${probe.path}`, options(key, probe));
  await res.body.dump();
  return res.statusCode;
}

/** Make every replica accept (and so cache) the key; false when one never does. */
export async function warmOnAll(urls: string[], key: string, probe: ProbeRequest): Promise<boolean> {
  let warm = true;
  for (const base of urls) {
    let ok = false;
    for (let t = 0; t < 20 && !ok; t++) {
      ok = (await probeOnce(base, key, probe)) === 200;
      if (!ok) await sleep(25);
    }
    warm &&= ok;
  }
  return warm;
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
      const res = await pool.request({ path: probe.path, ...options(key, probe) });
      await res.body.dump();
      out.push({ sentAt, receivedAt: performance.now(), status: res.statusCode });
    } catch {
      out.push({ sentAt, receivedAt: performance.now(), status: 0 });
      await sleep(5);
    }
  }
}

/**
 * Probe every replica while `revoke` runs, until every replica has refused (401) and a little
 * longer. A key that was not refused everywhere in time is a failure, and its run still counts.
 */
export async function measureRevoke(
  pools: Pool[],
  key: string,
  probe: ProbeRequest,
  revoke: () => Promise<RevokeResult>,
): Promise<{ run?: KeyRun; failure?: string }> {
  const stop = { done: false };
  const probes: Probe[][] = pools.map(() => []);
  const loops = pools.map((pool, r) => probeLoop(pool, key, probe, stop, probes[r] ?? []));
  await sleep(10);
  const t0 = performance.now();
  const result = await revoke();
  const t1 = performance.now();
  if (result.status !== 200) {
    stop.done = true;
    await Promise.all(loops);
    return { failure: `revoke answered ${result.status}` };
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
  const run: KeyRun = {
    propagationMs: allRefusedAt - t0,
    revokeMs: t1 - t0,
    perReplicaMs,
    acceptsAfterReturn,
    flipBacks,
    otherStatuses,
    refusedBeforeReturn: allRefusedAt <= t1,
    propagation: result.propagation,
  };
  if (Number.isFinite(allRefusedAt)) return { run };
  return { run, failure: `not refused by every replica within ${PER_KEY_TIMEOUT_MS} ms` };
}
