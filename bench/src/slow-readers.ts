#!/usr/bin/env node
/**
 * `pnpm bench:slow-readers`: clients that ask for a large stream and never read it. Starts the mock
 * upstream and one Gatehouse shape, measures small calls at c=4 (latency) and the gateway's RSS,
 * then opens N connections that each ask for a ~800 KB stream (4,200 chunks) and, once the 200
 * headers are in, stop reading. While they are held it samples RSS every 500 ms and measures the
 * small calls again. Prints RSS growth (peak while held − before) and the latency of the other
 * calls before and during; with --write the figures go to docs/benchmarks.md.
 *
 *   pnpm bench:slow-readers [-- --clients=N (200)] [--hold=S (20)] [--shape=one|separate]
 *                           [--env=NAME=VALUE …] [--write]
 *
 * The hold must stay below STREAM_WRITE_TIMEOUT_MS (60 s by default), after which the gateway ends
 * the streams itself.
 */
import { connect, type Socket } from "node:net";
import { cpus } from "node:os";
import { join } from "node:path";
import { boundedInt, envOption, option } from "./cli.js";
import {
  ACCOUNT,
  gatehouseTarget,
  provision,
  REPO_ROOT,
  startGatehouse,
  verifyAndWarm,
} from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { runAutocannon } from "./load.js";
import { startMockProcess } from "./mock-process.js";
import { SLOW_READER_MODEL } from "./mock-upstream.js";
import { Cleanup, sampleProc, sleep } from "./proc.js";
import { ms, table, writeResults } from "./report.js";
import { summarize } from "./stats.js";
import { chatBody, type Target } from "./targets.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

function rssKb(pids: number[]): number {
  let total = 0;
  for (const pid of pids) total += sampleProc(pid)?.rssKb ?? 0;
  return total;
}

/** Opens a connection, asks for the stream, and stops reading once the status line is in. */
function slowReader(
  target: Target,
  model: string,
): Promise<{ socket: Socket; status: number; head: string }> {
  const url = new URL(target.url);
  const body = chatBody(model, true);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const timer = setTimeout(() => reject(new Error("no response headers within 30 s")), 30_000);
    socket.once("error", reject);
    socket.once("data", (data: Buffer) => {
      clearTimeout(timer);
      socket.pause(); // never read again
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve({
        socket,
        status: Number(data.toString("latin1", 9, 12)),
        head: data.toString("latin1", 0, 400),
      });
    });
    const headers = Object.entries({ ...target.headers, "content-length": String(Buffer.byteLength(body)) })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.write(`POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n${headers}\r\n${body}`);
  });
}

async function main(): Promise<void> {
  const shape = option("shape", "one");
  if (shape !== "one" && shape !== "separate") throw new Error("--shape must be one or separate");
  const clients = boundedInt("clients", 200, 1, 2_000);
  const holdS = boundedInt("hold", 20, 5, 50);
  const env = envOption("env");
  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  let generated = "";
  try {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    log(`starting Gatehouse (${shape}) on Node ${process.version} …`);
    const gh = await startGatehouse({ shape, natsUrl, cleanup, env });
    const provisioned = await provision(gh, mockUrl);
    await verifyAndWarm(gh, provisioned);
    const target = gatehouseTarget(gh, provisioned);
    const pids = gh.processes.map((p) => p.pid);
    log("warm-up: c=4 for 5 s");
    await runAutocannon(target, 4, 5);
    const before = await runAutocannon(target, 4, 10);
    const rssBefore = rssKb(pids);
    log(`opening ${clients} slow readers …`);
    // In groups of 25, as clients arrive, rather than 200 in one instant.
    const readers: Awaited<ReturnType<typeof slowReader>>[] = [];
    for (let i = 0; i < clients; i += 25) {
      const group = Math.min(25, clients - i);
      readers.push(
        ...(await Promise.all(
          Array.from({ length: group }, () => slowReader(target, `${ACCOUNT}/${SLOW_READER_MODEL}`)),
        )),
      );
    }
    cleanup.add("slow readers", () => {
      for (const r of readers) r.socket.destroy();
    });
    const refused = readers.filter((r) => r.status !== 200).length;
    if (refused > 0)
      log(
        `${refused} slow readers were not answered 200; the first: ${readers.find((r) => r.status !== 200)?.head}`,
      );
    let peak = rssKb(pids);
    const timer = setInterval(() => {
      peak = Math.max(peak, rssKb(pids));
    }, 500);
    await sleep(Math.max(1, holdS - 10) * 1_000);
    log(`measuring small calls at c=4 for 10 s while ${clients} slow readers are held …`);
    const during = await runAutocannon(target, 4, 10);
    clearInterval(timer);
    peak = Math.max(peak, rssKb(pids));
    const rssHeld = rssKb(pids);
    const a = summarize(before.latenciesMs);
    const b = summarize(during.latenciesMs);
    const failed = before.errors + before.non2xx + during.errors + during.non2xx;
    const mbOf = (kb: number) => (kb / 1024).toFixed(1);
    generated = [
      table(
        ["figure", "before", `with ${clients} slow readers`],
        [
          ["gateway RSS, MB (all processes)", mbOf(rssBefore), `${mbOf(rssHeld)} (peak ${mbOf(peak)})`],
          ["RSS growth, MB", "", mbOf(peak - rssBefore)],
          ["small call p50, ms (c=4)", ms(a.p50), ms(b.p50)],
          ["small call p99, ms (c=4)", ms(a.p99), ms(b.p99)],
          [
            "small calls/s (c=4)",
            String(Math.round(before.requests / before.durationS)),
            String(Math.round(during.requests / during.durationS)),
          ],
          ["failed small calls", "", String(failed)],
          ["slow readers not answered 200", "", String(refused)],
        ],
      ),
      "",
      `Shape ${shape}; each slow reader asks for a ${SLOW_READER_MODEL} stream (~800 KB) and stops reading ` +
        `after the status line; held ${holdS} s. ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ` +
        `Node ${process.version}, ${cpus().length} cores (\`pnpm bench:slow-readers -- --clients=${clients} --hold=${holdS} --shape=${shape} --write\`).`,
    ].join("\n");
  } finally {
    await cleanup.run();
  }
  console.log(generated);
  if (process.argv.includes("--write")) {
    const file = join(REPO_ROOT, "docs", "benchmarks.md");
    writeResults(file, "bench:slow-readers", generated);
    log(`written to ${file}`);
  }
}

if (process.argv[1]?.endsWith("slow-readers.js")) {
  main().catch((err: unknown) => {
    log(`slow-readers failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
