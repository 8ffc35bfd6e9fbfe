import { join } from "node:path";
import { REPO_ROOT } from "./gatehouse.js";
import { type Cleanup, freePort, spawnNode, waitForHttp } from "./proc.js";
import { TARGET_LABELS, type Target } from "./targets.js";

/** The relay floor (see relay-main.ts) in its own process, on the same NATS as Gatehouse. */
export async function startRelay(mockUrl: string, natsUrl: string, cleanup: Cleanup): Promise<Target> {
  const port = await freePort();
  const child = spawnNode(
    {
      name: "relay",
      args: [join(REPO_ROOT, "bench/dist/relay-main.js")],
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        NATS_URL: natsUrl,
        UPSTREAM: mockUrl,
        SUBJECT: `relay${port}.invoke`,
      },
    },
    cleanup,
  );
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  await waitForHttp(child, url, 10_000, () => true);
  return {
    key: "relay",
    label: TARGET_LABELS.relay,
    url,
    headers: { "content-type": "application/json" },
    model: (kind) =>
      kind === "small" ? "bench-small" : kind === "stream200" ? "bench-c200-d0" : "bench-c20-d5",
    processes: [{ name: "relay", pid: child.pid }],
  };
}
