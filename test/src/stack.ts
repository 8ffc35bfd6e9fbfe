import { randomBytes } from "node:crypto";
import { buildApp as buildAcl, loadConfig as loadAclConfig } from "@gatehouse/acl";
import { buildApp as buildAuth, loadConfig as loadAuthConfig } from "@gatehouse/auth";
import { buildApp as buildDispatch, loadConfig as loadDispatchConfig } from "@gatehouse/dispatch";
import {
  buildApp as buildIngress,
  type IngressApp,
  loadConfig as loadIngressConfig,
} from "@gatehouse/ingress";
import type { HostedService } from "@gatehouse/service-host";
import { createTestDatabase, LogSink, testNatsUrl, testPrefix } from "@gatehouse/testkit";

export type BusServiceName = "auth" | "acl" | "dispatch";

export interface TestStackOptions {
  /** Extra environment for every service (e.g. GATEHOUSE_BOOTSTRAP_ADMIN_KEY). */
  env?: Record<string, string>;
  /** Ingress replicas, each with its own NATS connection. Default 1. */
  ingressReplicas?: number;
  /** A NATS server of the test's own (default: the shared test server). */
  natsUrl?: string;
  /** The subject prefix (default: a fresh one per stack). */
  prefix?: string;
  /** Environment for one service only, over `env`: e.g. its own NATS_USER and NATS_PASSWORD. */
  serviceEnv?: Partial<Record<BusServiceName | "ingress", Record<string, string>>>;
}

export interface TestStack {
  readonly prefix: string;
  readonly env: Record<string, string>;
  readonly logs: LogSink;
  /** Base URL of the first ingress replica. */
  readonly url: string;
  readonly ingress: IngressApp[];
  readonly services: Record<BusServiceName, HostedService>;
  /** Stop one service (its instance leaves the queue group). */
  stopService(name: BusServiceName): Promise<void>;
  /** Start a fresh instance of a service that was stopped (with `env` over its own, if given). */
  startService(name: BusServiceName, env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

type Builders = Record<BusServiceName, (env: Record<string, string>, sink: LogSink) => HostedService>;
const builders: Builders = {
  auth: (env, sink) => buildAuth(loadAuthConfig(env), { logger: sink.logger("auth") }),
  acl: (env, sink) => buildAcl(loadAclConfig(env), { logger: sink.logger("acl") }),
  dispatch: (env, sink) => buildDispatch(loadDispatchConfig(env), { logger: sink.logger("dispatch") }),
};

/**
 * The whole gateway for one test file: its own database and subject prefix, each service with its
 * own NATS connection exactly as separate processes would have.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const database = await createTestDatabase();
  const prefix = options.prefix ?? testPrefix();
  const env: Record<string, string> = {
    NATS_URL: options.natsUrl ?? (await testNatsUrl()),
    GATEHOUSE_PREFIX: prefix,
    DATABASE_URL: database.url,
    LOG_LEVEL: "debug",
    PORT: "0",
    SHUTDOWN_TIMEOUT_MS: "3000",
    // A fresh credentials key per stack, as a deployment would set it (dispatch refuses to start without).
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString("base64"),
    // The mock upstreams and webhook receivers listen on 127.0.0.1: allowed as an operator allows a
    // self-hosted upstream. Tests of the default policy pass GATEHOUSE_EGRESS_ALLOW: "" (unset).
    GATEHOUSE_EGRESS_ALLOW: "127.0.0.1/32",
    ...options.env,
  };
  const logs = new LogSink();
  const envOf = (name: BusServiceName | "ingress") => ({ ...env, ...options.serviceEnv?.[name] });
  const services = {} as Record<BusServiceName, HostedService>;
  const ingress: IngressApp[] = [];

  const stopAll = async () => {
    await Promise.allSettled(ingress.map((i) => i.stop()));
    await Promise.allSettled(Object.values(services).map((s) => s.stop()));
    await database.drop();
  };

  try {
    for (const name of ["auth", "acl", "dispatch"] as const) {
      const svc = builders[name](envOf(name), logs);
      await svc.start();
      services[name] = svc;
    }
    for (let i = 0; i < (options.ingressReplicas ?? 1); i++) {
      const app = buildIngress(loadIngressConfig(envOf("ingress")), { logger: logs.logger(`ingress-${i}`) });
      await app.start();
      ingress.push(app);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    prefix,
    env,
    logs,
    get url() {
      return ingress[0]?.url ?? "";
    },
    ingress,
    services,
    async stopService(name) {
      await services[name].stop();
    },
    async startService(name, extra = {}) {
      const svc = builders[name]({ ...envOf(name), ...extra }, logs);
      await svc.start();
      services[name] = svc;
    },
    stop: stopAll,
  };
}
