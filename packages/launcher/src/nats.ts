import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join, resolve } from "node:path";
import { type NatsSecurity, NO_NATS_SECURITY, natsConnectionSecurity } from "@gatehouse/bus";
import type { Logger } from "@gatehouse/kit";
import { connect } from "nats";

export const LOCAL_NATS_URL = "nats://127.0.0.1:4222";

export const NO_NATS_MESSAGE = [
  "Gatehouse needs a NATS server with JetStream and none was found.",
  "  - install one:   apt-get install nats-server   |   brew install nats-server",
  "  - or run one:    docker compose up -d nats",
  "  - or point at one: NATS_URL=nats://host:4222 pnpm start",
].join("\n");

export async function natsAnswers(
  url: string,
  timeoutMs = 1_000,
  security: NatsSecurity = NO_NATS_SECURITY,
): Promise<boolean> {
  try {
    const nc = await connect({
      servers: url,
      timeout: timeoutMs,
      maxReconnectAttempts: 0,
      ...natsConnectionSecurity(security),
    });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(binary: string, pathVar: string, searchSbin = true): string | undefined {
  const dirs = pathVar.split(delimiter).concat(searchSbin ? ["/usr/sbin", "/usr/local/sbin"] : []);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface LocalNats {
  url: string;
  /** How to connect: the environment's credentials, or the token of the server we started. */
  security: NatsSecurity;
  /** The nats-server child we started, if any. */
  child: ChildProcess | undefined;
  stop(): Promise<void>;
}

/**
 * NATS for the one-process shape: NATS_URL, else a server on the local default port, else a
 * `nats-server` from PATH started with JetStream under the data dir. Undefined when none can be had.
 */
export async function obtainNats(options: {
  url: string | undefined;
  dataDir: string;
  logger: Logger;
  /** Where PATH lookups happen (tests narrow it). */
  pathVar: string;
  /** The local default probed before starting a server (tests point it elsewhere). */
  localUrl?: string;
  /** Also look in /usr/sbin and /usr/local/sbin, where distributions install nats-server. */
  searchSbin?: boolean;
  /** Credentials for a given or already running server (NATS_USER, NATS_TOKEN, …). */
  security?: NatsSecurity;
}): Promise<LocalNats | undefined> {
  const security = options.security ?? NO_NATS_SECURITY;
  if (options.url) return { url: options.url, security, child: undefined, stop: async () => {} };
  const localUrl = options.localUrl ?? LOCAL_NATS_URL;
  if (await natsAnswers(localUrl, 1_000, security)) {
    return { url: localUrl, security, child: undefined, stop: async () => {} };
  }
  const binary = findOnPath("nats-server", options.pathVar, options.searchSbin ?? true);
  if (!binary) return undefined;
  const port = await freePort();
  const storeDir = resolve(options.dataDir, "nats");
  mkdirSync(storeDir, { recursive: true });
  // The server we start is this process's alone: a fresh token that only this process knows, kept
  // in a file only its user can read (a command-line flag would show in `ps`), so another local
  // program cannot join the bus and listen or answer on it.
  const token = randomBytes(32).toString("base64url");
  const configFile = join(storeDir, "launcher.conf");
  writeFileSync(configFile, `authorization { token: "${token}" }\n`, { mode: 0o600 });
  const started: NatsSecurity = { auth: { method: "token", token }, tls: undefined };
  const child = spawn(
    binary,
    ["-c", configFile, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await natsAnswers(url, 500, started)) {
      options.logger.info({ url, storeDir }, "started a local nats-server");
      return {
        url,
        security: started,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  options.logger.error({ stderr }, "nats-server did not start");
  return undefined;
}
