import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildApp, type IngressApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";

// The admin API's public shape is a promise to its callers: any change to the OpenAPI document
// shows up here as a diff against the committed snapshot, to be made on purpose or not at all.
let app: IngressApp;

beforeAll(async () => {
  const config = loadConfig({ NATS_URL: await testNatsUrl(), GATEHOUSE_PREFIX: testPrefix(), PORT: "0" });
  app = buildApp(config, { logger: captureLogger("openapi-test").logger });
  await app.start();
});

afterAll(async () => {
  await app.stop();
});

it("serves the OpenAPI document unchanged", async () => {
  const doc = await (await fetch(`${app.url}/api/v1/openapi.json`)).json();
  await expect(`${JSON.stringify(doc, null, 2)}\n`).toMatchFileSnapshot("__snapshots__/openapi.json");
});
