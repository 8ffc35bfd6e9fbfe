import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findOnPath, LOCAL_NATS_URL, natsAnswers } from "@gatehouse/launcher/nats";
import postgres from "postgres";
import { type Cleanup, freePort, sleep } from "./proc.js";

const DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres";

export function tempDir(cleanup: Cleanup, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${label}-`));
  cleanup.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * BENCH_NATS_URL, else a server on the default port, else `nats-server -js` from PATH on a free port.
 * The probing and the search are the launcher's; the server started here is open (no token, unlike
 * the launcher's own), because the bench's processes and probes connect with the URL alone.
 */
export async function obtainNats(cleanup: Cleanup): Promise<string> {
  const fromEnv = process.env.BENCH_NATS_URL;
  if (fromEnv) return fromEnv;
  if (await natsAnswers(LOCAL_NATS_URL)) return LOCAL_NATS_URL;
  const own = await startNats(cleanup);
  if (own) return own.url;
  throw new Error(
    "no NATS: set BENCH_NATS_URL, run nats-server -js on 127.0.0.1:4222, or put nats-server on PATH",
  );
}

/**
 * A `nats-server -js` of the bench's own from PATH, on a free port with a temporary store (stopped
 * at cleanup), or undefined when there is none on PATH or it does not answer within 5 s. Its pid lets
 * a benchmark pin it (pin.ts).
 */
export async function startNats(cleanup: Cleanup): Promise<{ url: string; pid: number } | undefined> {
  const binary = findOnPath("nats-server", process.env.PATH ?? "");
  if (!binary) return undefined;
  const port = await freePort();
  const store = tempDir(cleanup, "nats");
  const child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store], {
    stdio: "ignore",
  });
  child.on("error", () => {});
  cleanup.add("stop nats-server", () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await natsAnswers(url, 500)) return { url, pid: child.pid ?? -1 };
    await sleep(100);
  }
  return undefined;
}

export interface BenchDatabase {
  /** Undefined when Postgres is not reachable: the services fall back to embedded PGlite. */
  url: string | undefined;
  describe: string;
}

/** A fresh Postgres database (dropped at cleanup), or PGlite when no Postgres answers. */
export async function createDatabase(cleanup: Cleanup, label: string): Promise<BenchDatabase> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? DEFAULT_PG;
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 2, onnotice: () => {} });
  const name = `gh_bench_${label}_${randomBytes(4).toString("hex")}`;
  try {
    await admin.unsafe(`create database "${name}"`);
  } catch {
    return { url: undefined, describe: "embedded PGlite (no Postgres reachable)" };
  } finally {
    await admin.end({ timeout: 2 });
  }
  cleanup.add(`drop database ${name}`, async () => {
    const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      await a.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await a.end({ timeout: 2 });
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), describe: `Postgres (${url.host}, fresh database)` };
}
