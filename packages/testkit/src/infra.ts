import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { connect } from "nats";
import postgres from "postgres";

/**
 * Where the tests find Postgres and NATS, in order: the GATEHOUSE_TEST_* variables, the local
 * defaults when they answer, testcontainers when a Docker engine is reachable, else a clear failure.
 * Tests never skip silently for want of infrastructure.
 */
const DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_NATS = "nats://127.0.0.1:4222";

let pgAdminUrl: Promise<string> | undefined;
let natsUrl: Promise<string> | undefined;

function dockerReachable(): boolean {
  const host = process.env.DOCKER_HOST;
  if (host) return true;
  return (
    existsSync("/var/run/docker.sock") || existsSync(`${process.env.HOME ?? ""}/.docker/run/docker.sock`)
  );
}

async function postgresAnswers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function natsAnswers(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, timeout: 2_000, maxReconnectAttempts: 0 });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

async function resolvePostgres(): Promise<string> {
  const fromEnv = process.env.GATEHOUSE_TEST_DATABASE_URL;
  if (fromEnv) {
    if (await postgresAnswers(fromEnv)) return fromEnv;
    throw new Error("GATEHOUSE_TEST_DATABASE_URL is set but Postgres does not answer there");
  }
  if (await postgresAnswers(DEFAULT_PG)) return DEFAULT_PG;
  if (dockerReachable()) {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer("postgres:16-alpine").start();
    return container.getConnectionUri();
  }
  throw new Error(
    "No Postgres for tests: set GATEHOUSE_TEST_DATABASE_URL, run Postgres on 127.0.0.1:5432 (user postgres, trust), or make a Docker engine reachable for testcontainers.",
  );
}

async function resolveNats(): Promise<string> {
  const fromEnv = process.env.GATEHOUSE_TEST_NATS_URL;
  if (fromEnv) {
    if (await natsAnswers(fromEnv)) return fromEnv;
    throw new Error("GATEHOUSE_TEST_NATS_URL is set but NATS does not answer there");
  }
  if (await natsAnswers(DEFAULT_NATS)) return DEFAULT_NATS;
  if (dockerReachable()) {
    const { NatsContainer } = await import("@testcontainers/nats");
    const container = await new NatsContainer("nats:2.10-alpine").withArg("-js", "").start();
    return container.getConnectionOptions().servers as string;
  }
  throw new Error(
    "No NATS for tests: set GATEHOUSE_TEST_NATS_URL, run nats-server -js on 127.0.0.1:4222, or make a Docker engine reachable for testcontainers.",
  );
}

export function testPostgresAdminUrl(): Promise<string> {
  pgAdminUrl ??= resolvePostgres();
  return pgAdminUrl;
}

export function testNatsUrl(): Promise<string> {
  natsUrl ??= resolveNats();
  return natsUrl;
}

export function uniqueSuffix(): string {
  return randomBytes(5).toString("hex");
}

/** A random subject prefix, so test files sharing one NATS server never hear each other. */
export function testPrefix(): string {
  return `t${uniqueSuffix()}`;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database for one test file, dropped afterwards. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = await testPostgresAdminUrl();
  const name = `gh_test_${uniqueSuffix()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 2 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end({ timeout: 2 });
      }
    },
  };
}

/** A table lock a test holds (`lockTable`): statements that need the table wait until `release`. */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Locks `table` (schema-qualified, written by the test) in EXCLUSIVE mode in a transaction of its
 * own connection, resolving once the lock is held: a database that does not answer, as the code
 * under test sees it. `release` ends the transaction and the connection.
 */
export async function lockTable(databaseUrl: string, table: string): Promise<HeldLock> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked: () => void = () => {};
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const holder = sql.begin(async (tx) => {
    await tx.unsafe(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
    locked();
    await released;
  });
  await Promise.race([isLocked, holder]);
  return {
    async release() {
      release();
      try {
        await holder;
      } finally {
        await sql.end({ timeout: 2 });
      }
    },
  };
}
