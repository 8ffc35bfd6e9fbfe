import { BusClient, connectBus } from "@gatehouse/bus";
import { aclHealth, usageStreamName, usageSubject } from "@gatehouse/contracts";
import { captureLogger, createTestDatabase, testNatsUrl, testPrefix, waitFor } from "@gatehouse/testkit";
import { AckPolicy, RetentionPolicy, StorageType } from "nats";
import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { SPEND_DURABLE } from "../src/budgets/spend.js";
import { loadConfig } from "../src/config.js";

/**
 * docs/governance.md, upgrading: a usage stream created as a work queue (before budgets) refuses
 * acl's spend consumer. acl must still start and answer access checks (everything depends on it),
 * log the refusal and join the stream once an operator recreated it, without a restart.
 */
describe("acl over a usage stream created as a work queue", () => {
  it("starts, answers, and follows the stream once it is recreated", async () => {
    const database = await createTestDatabase();
    const prefix = testPrefix();
    const natsUrl = await testNatsUrl();
    const { logger, text } = captureLogger("acl");
    const bus = await connectBus({
      url: natsUrl,
      name: "acl-upgrade-test",
      logger,
      waitOnFirstConnect: true,
    });
    const jsm = await bus.nc.jetstreamManager();
    const stream = usageStreamName(prefix);
    await jsm.streams.add({
      name: stream,
      subjects: [usageSubject(prefix)],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
    });
    await jsm.consumers.add(stream, { durable_name: "dispatch-usage", ack_policy: AckPolicy.Explicit });
    const app = buildApp(
      loadConfig({ NATS_URL: natsUrl, GATEHOUSE_PREFIX: prefix, DATABASE_URL: database.url }),
      { logger },
    );
    try {
      await app.start();
      const health = await new BusClient(bus.nc, prefix).request(aclHealth, {});
      expect(health).toBeDefined();
      await waitFor(() => text().includes("budget spend consumer restarting"), 15_000, 100);

      await jsm.streams.delete(stream);
      await waitFor(
        () =>
          jsm.consumers.info(stream, SPEND_DURABLE).then(
            () => true,
            () => false,
          ),
        15_000,
        200,
      );
    } finally {
      await app.stop().catch(() => {});
      await jsm.streams.delete(stream).catch(() => {});
      await bus.drain();
      await database.drop();
    }
  }, 60_000);
});
