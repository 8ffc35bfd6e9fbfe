import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { inboxPrefixFor, type ServiceName } from "@gatehouse/contracts";
import { startNatsServer } from "@gatehouse/testkit";
import { connect, type NatsConnection } from "nats";

/** The configuration the compose stack runs NATS with: the tests read the very same file. */
export const SHIPPED_NATS_CONFIG = fileURLToPath(new URL("../../infra/nats/nats.conf", import.meta.url));

const SECRETS_SCRIPT = fileURLToPath(new URL("../../scripts/compose-secrets.sh", import.meta.url));

const SERVICES: ServiceName[] = ["auth", "acl", "dispatch", "ingress"];

/** The secrets an operator makes for compose, by the documented command itself. */
function composeSecrets(): Record<string, string> {
  const out = execFileSync("sh", [SECRETS_SCRIPT], { encoding: "utf8" });
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
}

/**
 * nats-server with infra/nats/nats.conf, its secrets from the environment as in compose, on free
 * ports. `trace` logs every message that crosses it (payloads included).
 */
export async function startShippedNats(options: { trace?: boolean } = {}) {
  const secrets = composeSecrets();
  const variable = (s: ServiceName) => `GATEHOUSE_NATS_${s.toUpperCase()}_PASSWORD`;
  const passwords = Object.fromEntries(SERVICES.map((s) => [s, secrets[variable(s)] ?? ""])) as Record<
    ServiceName,
    string
  >;
  const env = Object.fromEntries(SERVICES.map((s) => [variable(s), passwords[s]]));
  const server = await startNatsServer({
    configFile: SHIPPED_NATS_CONFIG,
    env,
    trace: options.trace ?? false,
  });
  return {
    ...server,
    passwords,
    /** NATS_USER/NATS_PASSWORD for one service, as compose gives it. */
    serviceEnv(service: ServiceName): Record<string, string> {
      return { NATS_USER: service, NATS_PASSWORD: passwords[service] };
    },
    /** `serviceEnv` for every service: the stack's own NATS users, as compose runs it. */
    serviceUsers(): Record<ServiceName, Record<string, string>> {
      return Object.fromEntries(SERVICES.map((s) => [s, this.serviceEnv(s)])) as Record<
        ServiceName,
        Record<string, string>
      >;
    },
    /** A raw connection as one service's user (with that service's inbox prefix). */
    connectAs(service: ServiceName): Promise<NatsConnection> {
      return connect({
        servers: server.url,
        user: service,
        pass: passwords[service],
        inboxPrefix: inboxPrefixFor(service),
        maxReconnectAttempts: 0,
      });
    },
  };
}
