import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type ServiceName = "auth" | "acl" | "dispatch" | "ingress";

export interface ServiceProcess {
  readonly name: ServiceName;
  readonly child: ChildProcess;
  /** For ingress: the URL it listens on. */
  readonly url: string | undefined;
  readonly output: string[];
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  /** Stop the process without ending it (SIGSTOP), as a frozen replica. */
  pause(): void;
  resume(): void;
}

/**
 * Run a built service (`services/<name>/dist/main.js`) as its own process, as in production.
 * Resolves once it logged that it is serving; rejects if it exits first or takes too long.
 */
export function spawnService(
  name: ServiceName,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [`services/${name}/dist/main.js`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () => finish(new Error(`${name} did not start within ${timeoutMs} ms:\n${output.join("")}`)),
      timeoutMs,
    );
    const finish = (err: Error | undefined, url?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill("SIGKILL");
        reject(err);
        return;
      }
      resolve({
        name,
        child,
        url,
        output,
        exited,
        kill(signal = "SIGTERM") {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
        pause: () => child.kill("SIGSTOP"),
        resume: () => child.kill("SIGCONT"),
      });
    };
    const onLine = (text: string) => {
      output.push(text);
      for (const line of text.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === "ingress listening") finish(undefined, entry.url);
          if (entry.msg === "service started") finish(undefined);
        } catch {
          // a partial line; the next chunk completes it
        }
      }
    };
    child.stdout?.setEncoding("utf8").on("data", onLine);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => output.push(d));
    void exited.then((code) =>
      finish(new Error(`${name} exited (${code}) before it started:\n${output.join("")}`)),
    );
  });
}
