import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Cleanup, freePort, spawnNode, waitForHttp } from "./proc.js";
import { TARGET_LABELS, type Target } from "./targets.js";

const require = createRequire(import.meta.url);

/**
 * The Portkey OSS gateway from npm, run as its published `gateway` bin does (`build/start-server.js`,
 * a Hono app on @hono/node-server), headless, pointed at the mock through its custom-host header.
 */
export async function startPortkey(mockUrl: string, cleanup: Cleanup): Promise<Target> {
  const pkgDir = dirname(require.resolve("@portkey-ai/gateway/package.json"));
  const version = (require("@portkey-ai/gateway/package.json") as { version: string }).version;
  const port = await freePort();
  const preload = join(dirname(fileURLToPath(import.meta.url)), "loopback-only.js");
  const child = spawnNode(
    {
      name: "portkey",
      args: ["--import", preload, join(pkgDir, "build", "start-server.js"), `--port=${port}`, "--headless"],
      // production: no UI, no dev banner; nothing else of the environment is needed.
      env: { PATH: process.env.PATH, NODE_ENV: "production", HOME: process.env.HOME },
    },
    cleanup,
  );
  await waitForHttp(child, `http://127.0.0.1:${port}/`, 30_000);
  return {
    key: "portkey",
    label: TARGET_LABELS.portkey.replace("1.15.2", version),
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    headers: {
      "content-type": "application/json",
      authorization: "Bearer sk-bench-not-a-real-key",
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": `${mockUrl}/v1`,
    },
    model: (kind) =>
      kind === "small" ? "bench-small" : kind === "stream200" ? "bench-c200-d0" : "bench-c20-d5",
    processes: [{ name: "portkey", pid: child.pid }],
  };
}
