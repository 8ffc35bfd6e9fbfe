import { createHash, randomUUID } from "node:crypto";
import {
  buildApp as buildAuth,
  loadConfig as loadAuthConfig,
  type TestIdentities,
  testIdentities,
} from "@gatehouse/auth";
import { BusClient, type BusConnection, connectBus } from "@gatehouse/bus";
import {
  AccessEventEnvelope,
  type Actor,
  accessEventStreamName,
  aclAdminBudgetsCreate,
  budgetPeriodOf,
  type CheckPrincipal,
  type Principal,
} from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import { generateKey, hashKey } from "@gatehouse/keys";
import type { HostedService } from "@gatehouse/service-host";
import {
  captureLogger,
  createTestDatabase,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
} from "@gatehouse/testkit";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll } from "vitest";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { budgetPeriods } from "../src/db/schema.js";

export interface AclHarness {
  prefix: string;
  client: BusClient;
  bus: BusConnection;
  database: TestDatabase;
  app: HostedService;
  /** Real users with real keys (acl asks auth to prove every admin actor). */
  ids: TestIdentities;
  logs: () => string;
  stop(): Promise<void>;
}

/**
 * The acl service on its own database and subject prefix, with auth beside it (acl checks admin
 * actors with auth), plus a client on its own connection.
 */
export async function startAcl(): Promise<AclHarness> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const natsUrl = await testNatsUrl();
  const { logger, text } = captureLogger("acl");
  const adminKey = generateKey("pat");
  const env = {
    NATS_URL: natsUrl,
    GATEHOUSE_PREFIX: prefix,
    DATABASE_URL: database.url,
    ACCESS_LEASE_MS: "500",
    GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
  };
  const auth = buildAuth(loadAuthConfig(env), { logger, print: () => {} });
  await auth.start();
  const app = buildApp(loadConfig(env), { logger });
  await app.start();
  const bus = await connectBus({ url: natsUrl, name: "acl-test", logger, waitOnFirstConnect: true });
  const client = new BusClient(bus.nc, prefix);
  return {
    prefix,
    client,
    bus,
    database,
    app,
    ids: await testIdentities(client, adminKey),
    logs: text,
    async stop() {
      await bus.drain();
      await app.stop();
      await auth.stop();
      await database.drop();
    },
  };
}

/**
 * acl (`startAcl`) for the tests of one file, started before them and stopped after, with a
 * connection of the file's own to acl's database; `h` and `db` are there once the tests run.
 */
export function aclForFile(): { readonly h: AclHarness; readonly db: Database } {
  let h: AclHarness | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    h = await startAcl();
    db = await openDatabase({ url: h.database.url, maxConnections: 2 });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await h?.stop();
  });
  return {
    get h() {
      if (!h) throw new Error("acl is not started yet: use it inside a test");
      return h;
    },
    get db() {
      if (!db) throw new Error("acl is not started yet: use it inside a test");
      return db;
    },
  };
}

/** A monthly budget of `maxUsd` (failing closed) on a user of its own: the budget's id and the user. */
export async function newUserBudget(h: AclHarness, maxUsd: number) {
  const subject = { kind: "user" as const, id: randomUUID() };
  const budget = await h.client.request(aclAdminBudgetsCreate, {
    actor: h.ids.admin,
    subject,
    maxUsd,
    period: "month",
    failOpen: false,
  });
  return { budgetId: budget.id, subject };
}

/** What a monthly budget has spent in the current month, as stored (undefined: nothing counted yet). */
export async function monthSpent(db: Database, budgetId: string): Promise<number | undefined> {
  const start = budgetPeriodOf("month", Date.now()).start;
  const [row] = await db
    .drizzle({ budgetPeriods })
    .select({ spentUsd: budgetPeriods.spentUsd })
    .from(budgetPeriods)
    .where(and(eq(budgetPeriods.budgetId, budgetId), eq(budgetPeriods.periodStart, start)));
  return row?.spentUsd;
}

export function user(role: "admin" | "member" = "member"): Principal {
  return { id: randomUUID(), kind: "user", name: `u-${role}`, role };
}

export function virtualAccount(): Principal {
  return { id: randomUUID(), kind: "virtual_account", name: "va", role: "member" };
}

/**
 * The id dispatch would have given the account or route `name`: one per name, so every grant made
 * on it here passes acl's check that the name still stands for the resource the grant was asked on.
 */
export function resourceIdOf(name: string): string {
  const hex = createHash("sha256").update(name).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** An admin made up on the bus: no key of auth's has this hash. */
export function forgedAdmin(requestId: string): Actor {
  return {
    principal: { id: randomUUID(), kind: "user", name: "mallory", role: "admin" },
    keyId: randomUUID(),
    keyHash: hashKey("made-up"),
    requestId,
  };
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
