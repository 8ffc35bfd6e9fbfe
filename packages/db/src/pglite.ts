import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/**
 * Postgres settings embedded PGlite starts with. PGlite runs Postgres in one WebAssembly memory that
 * grows and never shrinks, and its shared memory lives in it: with Postgres's defaults
 * (shared_buffers 128 MB, 145 MB of shared memory in all) a gateway on PGlite sat ~120 MB above
 * the same build on Postgres before serving a call. A laptop's catalog, keys and usage fit in a
 * far smaller buffer pool; whatever does not is in the OS page cache one read away.
 * maintenance_work_mem bounds what a migration's index build may add to that memory for good.
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: "16MB",
  maintenance_work_mem: "16MB",
};

/** PGlite's own start parameters followed by `-c name=value` for each of PGLITE_SETTINGS. */
export function pgliteStartParams(defaults: readonly string[]): string[] {
  return [
    ...defaults,
    ...Object.entries(PGLITE_SETTINGS).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
  ];
}

/** How long creating a data directory may take on a loaded machine before start-up fails. */
const INITDB_TIMEOUT_MS = 180_000;

/**
 * Creates a PGlite data directory in a short-lived child process. PGlite's initdb runs a second
 * Postgres and a copy of its memory next to the first, and ~450 MB of that stays with the process
 * that ran it after the instances are closed (measured on 0.5.16: 780 MB RSS after a first start,
 * 290 MB after a start on an existing directory). Run in a child, it goes back to the OS when the
 * child exits; this process then opens the directory as on any later start.
 */
export async function initializePgliteDir(dir: string, startParams: readonly string[]): Promise<void> {
  // The CommonJS entry of the same package this module imports: the child needs no loader of ours.
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const script = [
    "const [entry, dir, params] = process.argv.slice(1);",
    "const { PGlite } = require(entry);",
    "const pg = new PGlite(dir, { startParams: JSON.parse(params) });",
    "pg.waitReady.then(() => pg.close()).then(",
    "  () => process.exit(0),",
    "  (err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); },",
    ");",
  ].join("\n");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script, entry, dir, JSON.stringify(startParams)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2_000);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), INITDB_TIMEOUT_MS);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why =
        signal === "SIGKILL" ? `timed out after ${INITDB_TIMEOUT_MS / 1000} s` : `exited ${code ?? signal}`;
      reject(new Error(`creating the PGlite data directory ${dir} ${why}: ${stderr.trim()}`));
    });
  });
}

/** Whether `dir` already holds a Postgres data directory (initdb writes PG_VERSION). */
export function pgliteDirInitialized(dir: string): boolean {
  return existsSync(join(dir, "PG_VERSION"));
}

/**
 * PGlite with PGLITE_SETTINGS, its data directory created in a child process when new. Without a
 * directory it runs in memory, and its initdb runs in this process (tests only).
 */
export async function startPglite(dir: string | undefined) {
  const { PGlite } = await import("@electric-sql/pglite");
  const startParams = pgliteStartParams(PGlite.defaultStartParams);
  if (dir) {
    mkdirSync(dir, { recursive: true });
    if (!pgliteDirInitialized(dir)) await initializePgliteDir(dir, startParams);
  }
  const client = dir ? new PGlite(dir, { startParams }) : new PGlite({ startParams });
  await client.waitReady;
  return client;
}
