import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GATEHOUSE_NODE, NODE_MEMORY_FLAGS, nodeMemoryFlags } from "@gatehouse/kit";
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

/** This test's environment without the variables that choose the young generation's size. */
const sizeVariables = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "GATEHOUSE_SEMI_SPACE_MB"];
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !sizeVariables.includes(name)),
);

/** Run a start command the way a shell would, in `cwd`, with `env` on top, and return the flags node got. */
function flagsOf(command: string, cwd: string, env: Record<string, string> = {}): string[] {
  const out = execFileSync("sh", ["-c", command], {
    cwd,
    encoding: "utf8",
    env: {
      ...baseEnv,
      ...env,
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

  // What the script chooses and what nodeMemoryFlags (the bench, the tests) says it chooses agree.
  it("are larger when tracing is configured, and GATEHOUSE_SEMI_SPACE_MB overrides them", () => {
    const endpoint = "http://127.0.0.1:4318";
    const cases: Record<string, string>[] = [
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: "" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "always_off" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "parentbased_traceidratio" },
      { GATEHOUSE_SEMI_SPACE_MB: "8" },
      { GATEHOUSE_SEMI_SPACE_MB: "1", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
      { GATEHOUSE_SEMI_SPACE_MB: "" },
      // Odd deployments: both sides still agree on a valid size (the larger one at worst, never a refusal).
      { OTEL_EXPORTER_OTLP_ENDPOINT: "   " },
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "ALWAYS_OFF" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: "true" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "" },
    ];
    for (const env of cases) {
      expect(flagsOf(`${GATEHOUSE_NODE} ${probe}`, root, env), JSON.stringify(env)).toEqual(
        nodeMemoryFlags(env),
      );
    }
    const traced = flagsOf(`${GATEHOUSE_NODE} ${probe}`, root, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(traced).not.toEqual([...NODE_MEMORY_FLAGS]);
    expect(flagsOf(`${GATEHOUSE_NODE} ${probe}`, root, { GATEHOUSE_SEMI_SPACE_MB: "8" })).toEqual([
      "--max-semi-space-size=8",
    ]);
  });

  it("refuse to start node with GATEHOUSE_SEMI_SPACE_MB outside 1..64", () => {
    for (const bad of ["0", "65", "08", "-4", "lots"]) {
      expect(
        () => flagsOf(`${GATEHOUSE_NODE} ${probe}`, root, { GATEHOUSE_SEMI_SPACE_MB: bad }),
        bad,
      ).toThrow(/GATEHOUSE_SEMI_SPACE_MB/);
    }
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
