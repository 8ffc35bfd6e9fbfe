import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * The `observability` profile of docker-compose.yml: Prometheus scraping every service on an
 * internal network, Grafana and Jaeger on the host's loopback only, nothing of it started without
 * the profile. `docker-compose config` (as CI runs it) checks the file itself when it is installed.
 */
interface Service {
  profiles?: string[];
  ports?: string[];
  networks?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}
interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
}

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const compose = parse(readFileSync(root("docker-compose.yml"), "utf8"), { merge: true }) as Compose;
const prometheus = parse(readFileSync(root("infra/prometheus/prometheus.yml"), "utf8")) as {
  scrape_configs: Array<{ job_name: string; dns_sd_configs: Array<{ names: string[]; port: number }> }>;
};
const OBSERVABILITY = ["grafana", "jaeger", "prometheus"];
const hasCompose = spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;

describe("docker-compose.yml --profile observability", () => {
  it("puts Prometheus, Grafana and Jaeger under the profile only", () => {
    const profiled = Object.keys(compose.services).filter((s) => compose.services[s]?.profiles !== undefined);
    expect(profiled.sort()).toEqual(OBSERVABILITY);
    for (const s of OBSERVABILITY) expect(compose.services[s]?.profiles).toEqual(["observability"]);
  });

  it("publishes the UIs on the host's loopback only, and Prometheus not at all", () => {
    expect(compose.services.prometheus?.ports).toBeUndefined();
    for (const s of ["grafana", "jaeger"]) {
      const ports = compose.services[s]?.ports ?? [];
      expect(ports.length).toBe(1);
      expect(ports.every((p) => p.startsWith("127.0.0.1:"))).toBe(true);
    }
  });

  it("scrapes on an internal network that the four services and the profile share", () => {
    expect(compose.networks.telemetry?.internal).toBe(true);
    expect(compose.services.prometheus?.networks).toEqual(["telemetry"]);
    const onTelemetry = Object.keys(compose.services).filter((s) =>
      compose.services[s]?.networks?.includes("telemetry"),
    );
    expect(onTelemetry.sort()).toEqual([
      "acl",
      "auth",
      "dispatch",
      "grafana",
      "ingress",
      "jaeger",
      "prometheus",
    ]);
  });

  it("scrapes every service on the port it serves metrics on", () => {
    const jobs = Object.fromEntries(
      prometheus.scrape_configs.map((j) => [j.job_name, j.dns_sd_configs[0]] as const),
    );
    expect(Object.keys(jobs).sort()).toEqual(["acl", "auth", "dispatch", "ingress"]);
    for (const service of ["auth", "acl", "dispatch"]) {
      const env = compose.services[service]?.environment ?? {};
      expect(jobs[service]).toEqual({ names: [service], type: "A", port: Number(env.METRICS_PORT) });
      expect(env.METRICS_HOST).toBe("0.0.0.0");
    }
    expect(jobs.ingress).toEqual({
      names: ["ingress"],
      type: "A",
      port: Number(compose.services.ingress?.environment?.PORT),
    });
  });

  it("mounts the configuration files that exist in the repository", () => {
    for (const s of OBSERVABILITY) {
      for (const volume of compose.services[s]?.volumes ?? []) {
        const [source] = volume.split(":");
        if (source?.startsWith("./")) expect(existsSync(root(source.slice(2))), source).toBe(true);
      }
    }
  });

  it.skipIf(!hasCompose)(
    "is a valid compose file with and without the profile (docker-compose config)",
    () => {
      for (const args of [[], ["--profile", "observability"]]) {
        execFileSync("docker-compose", ["-f", root("docker-compose.yml"), ...args, "config", "-q"], {
          stdio: "pipe",
        });
      }
      const services = execFileSync(
        "docker-compose",
        ["-f", root("docker-compose.yml"), "--profile", "observability", "config", "--services"],
        { encoding: "utf8" },
      );
      for (const s of OBSERVABILITY) expect(services.split("\n")).toContain(s);
    },
  );
});
