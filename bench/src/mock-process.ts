import { join } from "node:path";
import { REPO_ROOT } from "./gatehouse.js";
import { type Child, type Cleanup, freePort, spawnNode, waitForHttp } from "./proc.js";

/** The mock upstream in its own process, so it never shares an event loop with the load generator. */
export async function startMockProcess(cleanup: Cleanup): Promise<{ url: string; child: Child }> {
  const port = await freePort();
  const child = spawnNode(
    {
      name: "mock",
      args: [join(REPO_ROOT, "bench/dist/mock-upstream-main.js")],
      env: { PORT: String(port) },
    },
    cleanup,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${url}/v1/models`, 10_000, (s) => s === 200);
  return { url, child };
}
