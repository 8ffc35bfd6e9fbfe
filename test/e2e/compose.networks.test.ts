import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * docker-compose.yml as compose reads it (anchors and `<<` merges resolved). No Docker engine is
 * needed: what is checked is the file's own promise — only the load balancer is published, and the
 * bus and the database sit on internal networks that only the services using them join.
 */
interface Service {
  profiles?: string[];
  ports?: unknown[];
  networks?: string[] | Record<string, unknown>;
  environment?: Record<string, string>;
}
interface Compose {
  services: Record<string, Service>;
  networks?: Record<string, { internal?: boolean } | null>;
}

const file = fileURLToPath(new URL("../../docker-compose.yml", import.meta.url));
const compose = parse(readFileSync(file, "utf8"), { merge: true }) as Compose;
/** The stack `docker compose up` starts; the `observability` profile's services are checked apart. */
const names = Object.keys(compose.services).filter((s) => compose.services[s]?.profiles === undefined);

/** A service without `networks:` is on compose's `default` network. */
function networksOf(service: string): string[] {
  const n = compose.services[service]?.networks;
  if (n === undefined) return ["default"];
  return Array.isArray(n) ? n : Object.keys(n);
}
const internal = (network: string) => compose.networks?.[network]?.internal === true;
const onNetworkWith = (service: string) =>
  Object.keys(compose.services).filter(
    (other) => other !== service && networksOf(other).some((n) => networksOf(service).includes(n)),
  );

describe("docker-compose.yml: only the load balancer faces the host", () => {
  it("publishes a port for the load balancer and nothing else", () => {
    const published = names.filter((s) => (compose.services[s]?.ports ?? []).length > 0);
    expect(published).toEqual(["lb"]);
  });

  it("keeps Postgres on internal networks, shared only with the services that own a schema", () => {
    expect(networksOf("postgres").every(internal)).toBe(true);
    expect(onNetworkWith("postgres").sort()).toEqual(["acl", "auth", "dispatch"]);
  });

  it("keeps NATS on internal networks, shared only with the four services", () => {
    expect(networksOf("nats").every(internal)).toBe(true);
    expect(onNetworkWith("nats").sort()).toEqual(["acl", "auth", "dispatch", "ingress"]);
  });

  it("gives a way out only to the load balancer's network and to the services that call out", () => {
    const outward = names.filter((s) => networksOf(s).some((n) => !internal(n))).sort();
    // ingress is on the load balancer's network; dispatch (providers) and auth (webhooks) on `egress`.
    expect(outward).toEqual(["auth", "dispatch", "ingress", "lb"]);
    expect(networksOf("acl").every(internal)).toBe(true);
  });

  it("does not serve /metrics on the published port", () => {
    const nginx = readFileSync(
      fileURLToPath(new URL("../../infra/nginx/nginx.conf", import.meta.url)),
      "utf8",
    );
    expect(nginx).toMatch(/location = \/metrics \{ return 404; \}/);
  });

  it("runs dispatch outside local mode, so it needs a real master key", () => {
    expect(compose.services.dispatch?.environment?.GATEHOUSE_LOCAL_MODE).toBe("false");
  });
});
