import { hashKey } from "@gatehouse/keys";
import { connect } from "nats";
import { mintVat } from "./admin.js";
import { chatOnce, type Provisioned, type RunningGatehouse } from "./gatehouse.js";

/**
 * Key validation with a cold cache, measured two ways:
 * - end to end: K fresh VATs, each used once through ingress (cache miss → `auth.validate` over NATS,
 *   which reads Postgres), then once more (cache hit). The difference is what a cold key costs a caller.
 * - auth alone: `<prefix>.v1.auth.validate` requested directly over NATS with the hashes of K further
 *   fresh keys, i.e. exactly the round trip ingress makes on a miss (NATS + auth + Postgres).
 */
export interface ColdKeyResult {
  firstMs: number[];
  secondMs: number[];
  natsValidateMs: number[];
  failures: string[];
}

export async function measureColdKeys(
  gh: RunningGatehouse,
  p: Provisioned,
  natsUrl: string,
  count: number,
): Promise<ColdKeyResult> {
  const result: ColdKeyResult = { firstMs: [], secondMs: [], natsValidateMs: [], failures: [] };
  const base = gh.ingressUrls[0] ?? "";
  const keys = [];
  for (let i = 0; i < count; i++) keys.push(await mintVat(gh.admin, p.virtualAccountId, `cold-${i}`));
  for (const k of keys) {
    const first = await chatOnce(base, k.key);
    const second = await chatOnce(base, k.key);
    if (first.status !== 200 || second.status !== 200) {
      result.failures.push(`e2e ${first.status}/${second.status}`);
      continue;
    }
    result.firstMs.push(first.ms);
    result.secondMs.push(second.ms);
  }

  const fresh = [];
  for (let i = 0; i < count; i++) fresh.push(await mintVat(gh.admin, p.virtualAccountId, `nats-${i}`));
  const nc = await connect({ servers: natsUrl, name: "gatehouse-bench" });
  try {
    const subject = `${gh.prefix}.v1.auth.validate`;
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    for (const k of fresh) {
      const payload = encoder.encode(JSON.stringify({ keyHash: hashKey(k.key) }));
      const started = performance.now();
      try {
        const reply = await nc.request(subject, payload, { timeout: 5_000 });
        const ms = performance.now() - started;
        const answer = JSON.parse(decoder.decode(reply.data)) as { outcome?: string };
        if (answer.outcome === "valid") result.natsValidateMs.push(ms);
        else result.failures.push(`auth.validate outcome ${answer.outcome ?? JSON.stringify(answer)}`);
      } catch (err) {
        result.failures.push(`auth.validate: ${(err as Error).message}`);
      }
    }
  } finally {
    await nc.close();
  }
  return result;
}
