import { randomUUID } from "node:crypto";
import { BusClient, type BusConnection, connectBus } from "@gatehouse/bus";
import {
  AccessEventEnvelope,
  type Actor,
  accessEventStreamName,
  type CheckPrincipal,
  type Principal,
} from "@gatehouse/contracts";
import type { HostedService } from "@gatehouse/service-host";
import {
  captureLogger,
  createTestDatabase,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
} from "@gatehouse/testkit";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";

export interface AclHarness {
  prefix: string;
  client: BusClient;
  bus: BusConnection;
  database: TestDatabase;
  app: HostedService;
  logs: () => string;
  stop(): Promise<void>;
}

/** The acl service on its own database and subject prefix, plus a client on its own connection. */
export async function startAcl(): Promise<AclHarness> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const natsUrl = await testNatsUrl();
  const { logger, text } = captureLogger("acl");
  const app = buildApp(
    loadConfig({
      NATS_URL: natsUrl,
      GATEHOUSE_PREFIX: prefix,
      DATABASE_URL: database.url,
      ACCESS_LEASE_MS: "500",
    }),
    { logger },
  );
  await app.start();
  const bus = await connectBus({ url: natsUrl, name: "acl-test", logger, waitOnFirstConnect: true });
  return {
    prefix,
    client: new BusClient(bus.nc, prefix),
    bus,
    database,
    app,
    logs: text,
    async stop() {
      await bus.drain();
      await app.stop();
      await database.drop();
    },
  };
}

export function user(role: "admin" | "member" = "member"): Principal {
  return { id: randomUUID(), kind: "user", name: `u-${role}`, role };
}

export function virtualAccount(): Principal {
  return { id: randomUUID(), kind: "virtual_account", name: "va", role: "member" };
}

export function actorOf(principal: Principal): Actor {
  return { principal, keyId: randomUUID(), requestId: `req-${randomUUID()}` };
}

export function checkPrincipal(p: Principal): CheckPrincipal {
  return { id: p.id, kind: p.kind, role: p.role };
}

/** Every access event the stream holds for this prefix so far, in order. */
export async function streamEvents(h: AclHarness): Promise<AccessEventEnvelope[]> {
  const jsm = await h.bus.nc.jetstreamManager();
  const name = accessEventStreamName(h.prefix);
  const info = await jsm.streams.info(name).catch(() => undefined);
  if (!info) return [];
  const out: AccessEventEnvelope[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(name, { seq });
    out.push(AccessEventEnvelope.parse(msg.json()));
  }
  return out;
}
