import { loadConfig as loadAclConfig } from "@gatehouse/acl";
import { ConfigError } from "@gatehouse/kit";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

// The launcher hands one environment to every service: it reads the same base variables they do,
// except that NATS_URL may be left unset (it then finds or starts a server).
describe("launcher config", () => {
  it("leaves NATS_URL unset and reads the shared variables as a service does", () => {
    const environment = {
      LOG_LEVEL: "debug",
      GATEHOUSE_DATA_DIR: "/tmp/gh",
      NATS_USER: "u",
      NATS_PASSWORD: "p",
    };
    const own = loadConfig(environment);
    const service = loadAclConfig(environment);
    expect(own.natsUrl).toBeUndefined();
    expect([own.logLevel, own.dataDir, own.otlpEndpoint]).toEqual([
      service.logLevel,
      service.dataDir,
      service.otlpEndpoint,
    ]);
    expect(own.natsSecurity).toEqual(service.natsSecurity);
  });

  it("refuses a bad shared variable by name before starting anything", () => {
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(ConfigError);
    expect(() => loadConfig({ NATS_URL: "not a url" })).toThrow(/NATS_URL/);
  });
});
