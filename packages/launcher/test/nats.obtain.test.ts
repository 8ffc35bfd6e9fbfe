import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { captureLogger } from "@gatehouse/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { findOnPath, NO_NATS_MESSAGE, natsAnswers, obtainNats } from "../src/nats.js";

const { logger } = captureLogger("launcher-test");
const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-launcher-"));
// A local default nobody listens on, so the launcher has to find another way.
const closedLocal = "nats://127.0.0.1:1";

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("obtainNats", () => {
  it("uses NATS_URL when given", async () => {
    const nats = await obtainNats({ url: "nats://example.invalid:4222", dataDir, logger, pathVar: "" });
    expect(nats?.url).toBe("nats://example.invalid:4222");
    expect(nats?.child).toBeUndefined();
  });

  it("starts nats-server from PATH with JetStream under the data dir when nothing answers", async () => {
    const binary = findOnPath("nats-server", "/usr/bin:/usr/local/bin");
    expect(binary, "nats-server must be installed for this test (apt-get install nats-server)").toBeDefined();
    const nats = await obtainNats({
      url: undefined,
      dataDir,
      logger,
      localUrl: closedLocal,
      pathVar: dirname(binary ?? ""),
    });
    try {
      expect(nats?.child).toBeDefined();
      expect(await natsAnswers(nats?.url ?? "", 1_000, nats?.security)).toBe(true);
    } finally {
      await nats?.stop();
    }
    expect(await natsAnswers(nats?.url ?? "", 300, nats?.security)).toBe(false);
  });

  it("lets no other local program onto the server it starts: a connection without its token is refused", async () => {
    const binary = findOnPath("nats-server", "/usr/bin:/usr/local/bin") ?? "";
    const nats = await obtainNats({
      url: undefined,
      dataDir,
      logger,
      localUrl: closedLocal,
      pathVar: dirname(binary),
    });
    try {
      expect(nats?.security.auth.method).toBe("token");
      expect(await natsAnswers(nats?.url ?? "", 1_000, nats?.security)).toBe(true);
      expect(await natsAnswers(nats?.url ?? "", 1_000)).toBe(false);
    } finally {
      await nats?.stop();
    }
  });

  it("gives up when there is no NATS and no nats-server to start", async () => {
    const nats = await obtainNats({
      url: undefined,
      dataDir,
      logger,
      localUrl: closedLocal,
      pathVar: "/nonexistent",
      searchSbin: false,
    });
    expect(nats).toBeUndefined();
    expect(NO_NATS_MESSAGE).toContain("NATS_URL");
    expect(NO_NATS_MESSAGE).toContain("apt-get install nats-server");
    expect(NO_NATS_MESSAGE).toContain("docker compose");
  });
});
