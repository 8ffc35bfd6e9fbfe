import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { startPglite } from "./pglite.js";

/** A drizzle database over either driver. Queries take `Db | Tx` so they run in or out of a transaction. */
export type Db<S extends Record<string, unknown> = Record<string, never>> = PgDatabase<PgQueryResultHKT, S>;
export type Tx<S extends Record<string, unknown> = Record<string, never>> = Parameters<
  Parameters<Db<S>["transaction"]>[0]
>[0];

export interface MigrateOptions {
  /** Folder of committed SQL migrations made by `drizzle-kit generate`. */
  folder: string;
  /** The owning service; its migrations are tracked in their own table. */
  service: string;
}

export interface Database {
  readonly kind: "postgres" | "pglite";
  drizzle<S extends Record<string, unknown>>(schema: S): Db<S>;
  /** Apply committed migrations under an advisory lock, so replicas starting together do not race. */
  migrate(options: MigrateOptions): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A postgres:// URL; when absent, embedded PGlite is used. */
  url?: string | undefined;
  /** Where PGlite keeps its files; when absent too, PGlite runs in memory. */
  pgliteDir?: string | undefined;
  /** Pool size for postgres.js. */
  maxConnections?: number;
}

const MIGRATIONS_SCHEMA = "gatehouse_migrations";

function lockKey(service: string): string {
  return `gatehouse.migrate.${service}`;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.maxConnections ?? 10);
  return openPglite(options.pgliteDir);
}

function openPostgres(url: string, max: number): Database {
  const sql = postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 60,
    connection: { application_name: "gatehouse" },
  });
  return {
    kind: "postgres",
    drizzle: (schema) => drizzlePostgres(sql, { schema }) as unknown as Db<typeof schema>,
    async migrate({ folder, service }) {
      const reserved = await sql.reserve();
      try {
        await reserved`select pg_advisory_lock(hashtext(${lockKey(service)}))`;
        try {
          await migratePostgres(drizzlePostgres(sql), {
            migrationsFolder: folder,
            migrationsSchema: MIGRATIONS_SCHEMA,
            migrationsTable: `${service}_migrations`,
          });
        } finally {
          await reserved`select pg_advisory_unlock(hashtext(${lockKey(service)}))`;
        }
      } finally {
        reserved.release();
      }
    },
    async ping() {
      try {
        await sql`select 1`;
        return true;
      } catch {
        return false;
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/** PGlite and its drizzle driver load only when used: a process on Postgres never pays for them. */
async function openPglite(dir: string | undefined): Promise<Database> {
  const [client, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    startPglite(dir),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  // PGlite is one connection in one process: migrations cannot race, but they must not interleave
  // with each other either, so they queue on this promise.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    kind: "pglite",
    drizzle: (schema) => drizzlePglite(client, { schema }) as unknown as Db<typeof schema>,
    migrate({ folder, service }) {
      const run = queue.then(() =>
        migratePglite(drizzlePglite(client), {
          migrationsFolder: folder,
          migrationsSchema: MIGRATIONS_SCHEMA,
          migrationsTable: `${service}_migrations`,
        }),
      );
      queue = run.catch(() => {});
      return run;
    },
    async ping() {
      try {
        await client.query("select 1");
        return true;
      } catch {
        return false;
      }
    },
    close: () => client.close(),
  };
}

/** Postgres unique_violation (23505), whether drizzle wrapped the driver's error or not. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === "23505") return true;
  }
  return false;
}
