import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GATEHOUSE_NODE, NODE_MEMORY_FLAGS } from "@gatehouse/kit";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");
const scripts = (pkg: string) =>
  (JSON.parse(read(`${pkg}/package.json`)) as { scripts: Record<string, string> }).scripts;

// Preloaded through NODE_OPTIONS, this prints the flags node was started with and exits before the
// entry point runs, so a start path can be run for real without starting Gatehouse.
const probeDir = mkdtempSync(join(tmpdir(), "gatehouse-flags-"));
const probe = join(probeDir, "probe.cjs");
writeFileSync(probe, "process.stdout.write(JSON.stringify(process.execArgv)); process.exit(0);\n");

/** Run a start command the way a shell would, in `cwd`, and return the flags node got. */
function flagsOf(command: string, cwd: string): string[] {
  const out = execFileSync("sh", ["-c", command], {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      PATH: [join(cwd, "node_modules/.bin"), process.env.PATH ?? ""].join(delimiter),
      NODE_OPTIONS: `--require ${probe}`,
    },
  });
  return JSON.parse(out) as string[];
}

// The young generation can only be sized by flags node starts with. They are written once, in
// @gatehouse/kit's bin/gatehouse-node, and every way Gatehouse starts goes through that script.
describe("node memory flags", () => {
  it("are what bin/gatehouse-node gives node", () => {
    expect(NODE_MEMORY_FLAGS).toContain("--max-semi-space-size=4");
    expect(flagsOf(`${GATEHOUSE_NODE} ${probe}`, root)).toEqual([...NODE_MEMORY_FLAGS]);
  });

  it("reach node from the root `pnpm start` script and the `gatehouse` bin", () => {
    const start = scripts(".").start ?? "";
    expect(start).toMatch(/^pnpm run build && /);
    expect(flagsOf(start.replace(/^pnpm run build && /, ""), root)).toEqual([...NODE_MEMORY_FLAGS]);
    const launcher = join(root, "packages/launcher");
    const bin = (JSON.parse(read("packages/launcher/package.json")) as { bin: Record<string, string> }).bin;
    expect(flagsOf(bin.gatehouse ?? "", launcher)).toEqual([...NODE_MEMORY_FLAGS]);
    expect(flagsOf(scripts("packages/launcher").start ?? "", launcher)).toEqual([...NODE_MEMORY_FLAGS]);
  });

  it("reach node from every service's start script", () => {
    for (const service of ["auth", "acl", "dispatch", "ingress"]) {
      const dir = join(root, "services", service);
      expect(flagsOf(scripts(`services/${service}`).start ?? "", dir), service).toEqual([
        ...NODE_MEMORY_FLAGS,
      ]);
    }
  });

  it("reach node from the container image's command", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(read("infra/Dockerfile"))?.[1] ?? "[]";
    const [program = "", ...args] = JSON.parse(cmd) as string[];
    // The image holds this checkout at /app and runs the command in /app/services/<SERVICE>.
    const command = [program.replace(/^\/app\//, root), ...args].join(" ");
    expect(flagsOf(command, join(root, "services/ingress"))).toEqual([...NODE_MEMORY_FLAGS]);
  });

  it("come with one malloc arena in the container image (glibc reads it only at start-up)", () => {
    const runtimeStage =
      read("infra/Dockerfile")
        .split(/^FROM /m)
        .at(-1) ?? "";
    expect(runtimeStage).toMatch(/^ENV MALLOC_ARENA_MAX=1$/m);
  });
});
