import { accessEventStreamName } from "@gatehouse/contracts";
import { connect, DiscardPolicy } from "nats";
import { type Pool, request } from "undici";
import { type AdminClient, mintVat, revokeVat } from "./admin.js";
import { sleep } from "./proc.js";
import { type KeyRun, measureRevoke, type ProbeRequest, probeOnce, warmOnAll } from "./revocation-probe.js";

/**
 * The JetStream-refusing case of `pnpm bench:revocation`: keys warm on every replica, then the
 * access-event stream is made to refuse every publish (`max_msgs` = its current count, `discard:
 * new`) while core NATS keeps working — a full stream, as an operator might cause — and each key is
 * revoked and probed as in the normal case. Then the stream is restored: the held-back events go
 * out, replicas trust their caches again, and the revoked keys must stay refused.
 */
export interface StalledOptions {
  natsUrl: string;
  prefix: string;
  urls: string[];
  pools: Pool[];
  admin: AdminClient;
  virtualAccountId: string;
  probe: ProbeRequest;
  keys: number;
}

export interface StalledResult {
  runs: KeyRun[];
  failures: string[];
  /** Replicas that reported `gatehouse_access_feed_trusted 0` while the stream refused. */
  untrustedWhileStalled: number;
  /** Stream restored → every replica reports `gatehouse_access_feed_trusted 1` again. */
  retrustMs: number;
  /** Revoked keys answered 2xx by some replica after the stream was restored (must be 0). */
  acceptedAfterRestore: number;
  /** A key minted after the restore is accepted by every replica. */
  freshAccepted: boolean;
}

async function trustedOn(base: string): Promise<boolean | undefined> {
  try {
    const res = await request(`${base}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    const text = await res.body.text();
    const m = /^gatehouse_access_feed_trusted (\d)/m.exec(text);
    return m ? m[1] === "1" : undefined;
  } catch {
    return undefined;
  }
}

export async function runStalled(o: StalledOptions): Promise<StalledResult> {
  const failures: string[] = [];
  const keys: { id: string; key: string }[] = [];
  for (let i = 0; i < o.keys; i++) {
    const vat = await mintVat(o.admin, o.virtualAccountId, `stalled-${i}`);
    if (await warmOnAll(o.urls, vat.key, o.probe)) keys.push(vat);
    else failures.push(`stalled key ${i}: not accepted on every replica before the stall`);
  }
  const nc = await connect({ servers: o.natsUrl, name: "bench-revocation" });
  const jsm = await nc.jetstreamManager();
  const stream = accessEventStreamName(o.prefix);
  const info = await jsm.streams.info(stream);
  const original = info.config;
  // max_msgs 0 would mean "unlimited": the normal phase has left events in the stream.
  await jsm.streams.update(stream, {
    ...original,
    max_msgs: Math.max(1, info.state.messages),
    discard: DiscardPolicy.New,
  });
  const runs: KeyRun[] = [];
  let untrustedWhileStalled = 0;
  try {
    for (const [i, vat] of keys.entries()) {
      const { run, failure } = await measureRevoke(o.pools, vat.key, o.probe, () =>
        revokeVat(o.admin, o.virtualAccountId, vat.id),
      );
      if (run) runs.push(run);
      if (failure) failures.push(`stalled key ${i}: ${failure}`);
    }
    for (const u of o.urls) if ((await trustedOn(u)) === false) untrustedWhileStalled++;
  } finally {
    await jsm.streams.update(stream, original);
  }
  const restoredAt = performance.now();
  let retrustMs = Number.NaN;
  while (performance.now() - restoredAt < 30_000) {
    const states = await Promise.all(o.urls.map(trustedOn));
    if (states.every((s) => s === true)) {
      retrustMs = performance.now() - restoredAt;
      break;
    }
    await sleep(10);
  }
  await nc.close();
  let acceptedAfterRestore = 0;
  for (const vat of keys) {
    for (const u of o.urls) {
      const status = await probeOnce(u, vat.key, o.probe);
      if (status >= 200 && status < 300) acceptedAfterRestore++;
    }
  }
  const fresh = await mintVat(o.admin, o.virtualAccountId, "after-restore");
  const freshAccepted = await warmOnAll(o.urls, fresh.key, o.probe);
  return { runs, failures, untrustedWhileStalled, retrustMs, acceptedAfterRestore, freshAccepted };
}
