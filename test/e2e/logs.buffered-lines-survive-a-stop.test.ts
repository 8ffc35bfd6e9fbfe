import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKey } from "@gatehouse/keys";
import { createTestDatabase, type TestDatabase, testNatsUrl, testPrefix, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * JSON log lines on stdout are gathered and written together (`LOG_FLUSH_MS`, 32 KiB). A graceful
 * stop must still write every one of them: here the buffer is given a minute, so the line of the
 * request below can only reach stdout through the flush at exit.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "gatehouse-logflush-"));
});
afterAll(async () => {
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  exited: Promise<number | string>;
}

function run(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr?.resume();
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  // Bounded: a process that does not stop on its own is ended by the deadline.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  void exited.then(() => clearTimeout(timer));
  return { child, stdout: () => out, exited };
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("buffered log lines", () => {
  it("an access line still buffered when SIGTERM arrives is written before the process exits", async () => {
    const gatehouse = run(["packages/launcher/dist/main.js"], {
      NATS_URL: await testNatsUrl(),
      DATABASE_URL: db.url,
      GATEHOUSE_PREFIX: testPrefix(),
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: generateKey("pat"),
      GATEHOUSE_MASTER_KEY: randomBytes(32).toString("base64"),
      PORT: "0",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      LOG_FLUSH_MS: "60000",
    });
    try {
      // The launcher prints its URL straight to stdout, not through the logger.
      await waitFor(() => /listening on (http:\S+)/.test(gatehouse.stdout()), 60_000);
      const url = /listening on (http:\S+)/.exec(gatehouse.stdout())?.[1] as string;
      const requestId = randomUUID();
      const res = await fetch(`${url}/v1/models`, {
        headers: { authorization: "Bearer not-a-key", "x-request-id": requestId },
      });
      expect(res.status).toBe(401);
      await res.arrayBuffer();

      gatehouse.child.kill("SIGTERM");
      expect(await gatehouse.exited).toBe(0);
      const lines = jsonLines(gatehouse.stdout()).filter((l) => l.reqId === requestId && l.msg === "request");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ status: 401, path: "/v1/models", service: "ingress" });
      // The services' own lines went through the same buffer and out with it.
      expect(jsonLines(gatehouse.stdout()).some((l) => l.msg === "shutting down")).toBe(true);
    } finally {
      gatehouse.child.kill("SIGKILL");
    }
  }, 90_000);

  it("a process that ends on its own writes its buffered lines", async () => {
    const kit = join(ROOT, "packages/kit/dist/index.js");
    const script = [
      `const { createLogger, fixedLine } = await import(${JSON.stringify(kit)});`,
      `const logger = createLogger({ level: "info", service: "probe", flushMs: 60000 });`,
      `logger.info({ n: 1 }, "first");`,
      `fixedLine("second")(logger, "info", { n: 2, s: "x" });`,
    ].join("\n");
    const probe = run(["--input-type=module", "-e", script], {});
    expect(await probe.exited).toBe(0);
    const lines = jsonLines(probe.stdout());
    expect(lines.map((l) => l.msg)).toEqual(["first", "second"]);
    expect(lines[1]).toMatchObject({ level: 30, service: "probe", n: 2, s: "x" });
  });

  it("a write error on stdout (a full disk) stops the stdout lines, says so on stderr, and the process goes on and ends", async () => {
    const kit = join(ROOT, "packages/kit/dist/index.js");
    const script = [
      `const { createLogger } = await import(${JSON.stringify(kit)});`,
      `const logger = createLogger({ level: "info", service: "probe", flushMs: 10 });`,
      `logger.info("lost to a full disk");`,
      `setTimeout(() => { logger.info("after"); process.stderr.write("still serving\\n"); }, 300);`,
    ].join("\n");
    // /dev/full answers every write with ENOSPC.
    const full = openSync("/dev/full", "w");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", full, "pipe"],
    });
    closeSync(full);
    let err = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    });
    // Bounded: a process spinning on the failed write at exit is ended by the deadline.
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    try {
      expect(await exited).toBe(0);
      expect(err).toContain("still serving");
      expect(err).toMatch(/stdout.*ENOSPC/);
    } finally {
      clearTimeout(timer);
    }
  });

  it("a reader that stops reading holds at most 16 MiB: lines beyond are dropped, said on stderr, the process goes on", async () => {
    const kit = join(ROOT, "packages/kit/dist/index.js");
    const script = [
      `const { createLogger, fixedLine } = await import(${JSON.stringify(kit)});`,
      `const logger = createLogger({ level: "info", service: "probe", flushMs: 10 });`,
      `const line = fixedLine("request");`,
      // 24 MiB of access-size lines into a pipe nobody reads (it holds 64 KiB).
      `for (let n = 0; n < 60000; n++) line(logger, "info", { n, pad: "x".repeat(400) });`,
      `setTimeout(() => process.stderr.write("still serving\\n"), 200);`,
      `setInterval(() => {}, 1000);`,
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // stdout is never read.
    child.stdout?.pause();
    let err = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    try {
      await waitFor(() => err.includes("still serving"), 20_000);
      expect(err).toMatch(
        /stdout is not keeping up: \d+ log line\(s\) dropped so far \(over 16777216 bytes pending\)/,
      );
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a stop with a write to stdout still in flight writes it, then the rest, in order", async () => {
    const kit = join(ROOT, "packages/kit/dist/index.js");
    const script = [
      `import fs from "node:fs";`,
      // A slow reader: each write to stdout completes 300 ms after it was made.
      `const write = fs.write;`,
      `fs.write = (fd, ...args) => (fd === 1 ? setTimeout(() => write(fd, ...args), 300) : write(fd, ...args));`,
      `const { createLogger, onSignals } = await import(${JSON.stringify(kit)});`,
      `const logger = createLogger({ level: "info", service: "probe", flushMs: 60000 });`,
      `onSignals(logger, async () => {});`,
      // Over the 32 KiB: its write starts at once; the next line waits in the buffer behind it.
      `logger.info({ pad: "x".repeat(40000) }, "first");`,
      `logger.info("second");`,
      `process.kill(process.pid, "SIGTERM");`,
      `setInterval(() => {}, 1000);`,
    ].join("\n");
    const probe = run(["--input-type=module", "-e", script], {});
    expect(await probe.exited).toBe(0);
    expect(jsonLines(probe.stdout()).map((l) => l.msg)).toEqual(["first", "second", "shutting down"]);
  });
});
