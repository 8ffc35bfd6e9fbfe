import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogger } from "@gatehouse/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { resolveMasterKey } from "./master-key.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("local master key", () => {
  it("is generated once with mode 0600 and reused", async () => {
    dir = await mkdtemp(join(tmpdir(), "gh-key-"));
    const config = loadConfig({ GATEHOUSE_LOCAL_MODE: "true", GATEHOUSE_DATA_DIR: join(dir, "data") });
    const { logger } = captureLogger();
    const first = await resolveMasterKey(config, logger);
    const second = await resolveMasterKey(config, logger);
    expect(first).toHaveLength(32);
    expect(second).toEqual(first);
    const path = join(dir, "data", "master.key");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, "utf8")).trim()).toBe(first.toString("hex"));
  });
});
