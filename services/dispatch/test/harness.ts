import { randomBytes, randomUUID } from "node:crypto";
import { buildApp as buildAcl, loadConfig as loadAclConfig } from "@gatehouse/acl";
import {
  buildApp as buildAuth,
  loadConfig as loadAuthConfig,
  type TestIdentities,
  testIdentities,
} from "@gatehouse/auth";
import { BusClient, type BusConnection, connectBus } from "@gatehouse/bus";
import { AccessEventEnvelope, accessEventStreamName, type Principal } from "@gatehouse/contracts";
import { generateKey } from "@gatehouse/keys";
import type { HostedService } from "@gatehouse/service-host";
import {
  captureLogger,
  createTestDatabase,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
} from "@gatehouse/testkit";
import postgres from "postgres";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";

export interface DispatchHarness {
  prefix: string;
  masterKey: Buffer;
  client: BusClient;
  bus: BusConnection;
  database: TestDatabase;
  /** Direct SQL, for checking what is stored at rest. */
  sql: postgres.Sql;
  /** Real users with real keys (dispatch and acl ask auth to prove every admin actor). */
  ids: TestIdentities;
  logs: () => string;
  stop(): Promise<void>;
}

/**
 * dispatch, acl (it asks acl who manages an account) and auth (both ask it to prove admin actors)
 * on one test database and prefix.
 */
export async function startDispatch(
  overrides: Record<string, string> = {},
  /** The URL the services reach the test database by (a test's proxy in front of it, say). */
  reach: (url: string) => Promise<string> | string = (url) => url,
): Promise<DispatchHarness> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const natsUrl = await testNatsUrl();
  const masterKey = randomBytes(32);
  const adminKey = generateKey("pat");
  const { logger, text } = captureLogger("dispatch");
  const env = {
    NATS_URL: natsUrl,
    GATEHOUSE_PREFIX: prefix,
    DATABASE_URL: await reach(database.url),
    ACCESS_LEASE_MS: "500",
    GATEHOUSE_MASTER_KEY: masterKey.toString("hex"),
    GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
    ...overrides,
  };
  const apps: HostedService[] = [
    buildAuth(loadAuthConfig(env), { logger, print: () => {} }),
    buildAcl(loadAclConfig(env), { logger }),
    buildApp(loadConfig(env), { logger }),
  ];
  for (const app of apps) await app.start();
  const bus = await connectBus({ url: natsUrl, name: "dispatch-test", logger, waitOnFirstConnect: true });
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  const client = new BusClient(bus.nc, prefix);
  return {
    prefix,
    masterKey,
    client,
    ids: await testIdentities(client, adminKey),
    bus,
    database,
    sql,
    logs: text,
    async stop() {
      await sql.end({ timeout: 2 });
      await bus.drain();
      for (const app of apps.reverse()) await app.stop();
      await database.drop();
    },
  };
}

export function user(role: "admin" | "member" = "member"): Principal {
  return { id: randomUUID(), kind: "user", name: `u-${role}`, role };
}

export async function streamEvents(h: DispatchHarness): Promise<AccessEventEnvelope[]> {
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
