import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's nats-server (2.9), which the tests start with a configuration of their own. */
export const NATS_SERVER_BINARY = "/usr/sbin/nats-server";

export interface NatsServerProcess {
  readonly url: string;
  /** Everything the server logged so far (with `trace`, every message that crossed it). */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("data", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * A nats-server of the test's own on free ports (client and monitoring), started from a
 * configuration file and stopped by the test. The environment is the server's only environment, so
 * `$VAR` references in the file resolve against it; GATEHOUSE_NATS_STORE_DIR is a fresh temporary
 * directory (a file that enables JetStream names its store with it).
 */
export async function startNatsServer(options: {
  configFile: string;
  env?: Record<string, string>;
  /** Log every protocol message with its payload (`-V`), to see what crossed the bus. */
  trace?: boolean;
}): Promise<NatsServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-nats-"));
  const port = await freePort();
  const monitor = await freePort();
  const logFile = join(dir, "server.log");
  const args = ["-c", options.configFile, "-a", "127.0.0.1", "-p", String(port), "-m", String(monitor)];
  args.push("-l", logFile);
  if (options.trace) args.push("-V");
  const child: ChildProcess = spawn(NATS_SERVER_BINARY, args, {
    env: { PATH: process.env.PATH ?? "", GATEHOUSE_NATS_STORE_DIR: join(dir, "store"), ...options.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const log = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await accepts(port)) return { url: `nats://127.0.0.1:${port}`, log, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  const output = `${stderr}\n${log()}`;
  await stop();
  throw new Error(`nats-server did not start:\n${output}`);
}
