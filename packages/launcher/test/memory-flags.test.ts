import { readFileSync } from "node:fs";
import { NODE_MEMORY_FLAGS } from "@gatehouse/kit";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
const flags = NODE_MEMORY_FLAGS.join(" ");

// The young generation can only be sized by flags node starts with: every way this package starts
// Gatehouse passes the same ones as @gatehouse/kit declares.
describe("node memory flags", () => {
  it("are on the root `pnpm start` script and this package's start script", () => {
    const root = JSON.parse(read("../../../package.json")) as { scripts: Record<string, string> };
    const own = JSON.parse(read("../package.json")) as { scripts: Record<string, string> };
    expect(root.scripts.start).toContain(`node ${flags} packages/launcher/dist/main.js`);
    expect(own.scripts.start).toBe(`node ${flags} dist/main.js`);
  });

  it("are on the `gatehouse` bin's shebang", () => {
    expect(read("../src/main.ts").split("\n")[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
  });

  it("are on the container image's command", () => {
    const quoted = NODE_MEMORY_FLAGS.map((f) => `"${f}"`).join(", ");
    expect(read("../../../infra/Dockerfile")).toContain(`CMD ["node", ${quoted}, "dist/main.js"]`);
  });

  it("come with one malloc arena in the container image (glibc reads it only at start-up)", () => {
    const runtimeStage =
      read("../../../infra/Dockerfile")
        .split(/^FROM /m)
        .at(-1) ?? "";
    expect(runtimeStage).toMatch(/^ENV MALLOC_ARENA_MAX=1$/m);
  });
});
