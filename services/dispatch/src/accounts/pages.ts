import {
  ACCOUNT_PAGE_MAX_BYTES,
  type CatalogAccount,
  type CatalogListResponse,
  isAccountName,
  type ProviderAccount,
} from "@gatehouse/contracts";
import { decodeCursor, encodeCursor } from "@gatehouse/db";
import { and, asc, eq, gt, inArray, type SQL, sql } from "drizzle-orm";
import { providerAccounts } from "../db/schema.js";
import type { DispatchDb } from "./context.js";
import { accountView } from "./view.js";

/** Rows one page may consider; a page of small accounts stops here rather than at the byte bound. */
const PAGE_ROWS_MAX = 1_000;
/** JSON of an account besides its models, options and base URL (ids, dates, flags), with room to spare. */
const ACCOUNT_FIXED_BYTES = 512;
const CATALOG_FIXED_BYTES = 160;

// Postgres prints jsonb with a space after every `:` and `,` and escapes like JSON, so its text is
// never shorter than the compact JSON sent on the bus: pages sized by it stay within the bound.
const catalogBytes = sql<number>`octet_length(${providerAccounts.models}::text)`;
const accountBytes = sql<number>`octet_length(${providerAccounts.models}::text) + octet_length(${providerAccounts.options}::text) + coalesce(octet_length(${providerAccounts.baseUrl}), 0)`;

export interface PageWhere {
  /** Only names after this one (exclusive). */
  after?: string | undefined;
  /** Only these names. */
  names?: readonly string[] | undefined;
  enabledOnly?: boolean;
}

/**
 * The names of the next page in name order, sized without reading the rows: at most `limit`, and
 * no more than fit `ACCOUNT_PAGE_MAX_BYTES` (but always one). `cut` says whether rows remain.
 */
async function pageNames(
  db: DispatchDb,
  where: PageWhere,
  limit: number,
  size: SQL<number>,
  fixedBytes: number,
): Promise<{ names: string[]; cut: boolean }> {
  const rows = await db
    .select({ name: providerAccounts.name, bytes: size })
    .from(providerAccounts)
    .where(conditions(where))
    .orderBy(asc(providerAccounts.name))
    .limit(limit + 1);
  const names: string[] = [];
  let total = 0;
  for (const row of rows.slice(0, limit)) {
    total += Number(row.bytes) + fixedBytes;
    if (names.length > 0 && total > ACCOUNT_PAGE_MAX_BYTES) return { names, cut: true };
    names.push(row.name);
  }
  return { names, cut: rows.length > limit };
}

function conditions(where: PageWhere): SQL | undefined {
  return and(
    where.after === undefined ? undefined : gt(providerAccounts.name, where.after),
    where.names === undefined ? undefined : inArray(providerAccounts.name, [...where.names]),
    where.enabledOnly ? eq(providerAccounts.enabled, true) : undefined,
  );
}

export function catalogEntry(row: {
  name: string;
  enabled: boolean;
  createdAt: Date;
  models: CatalogAccount["models"];
}): CatalogAccount {
  return {
    name: row.name,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    models: row.models.map((m) => {
      const entry: CatalogAccount["models"][number] = { name: m.name, kind: m.kind };
      if (m.inputPricePerMTok !== undefined) entry.inputPricePerMTok = m.inputPricePerMTok;
      if (m.outputPricePerMTok !== undefined) entry.outputPricePerMTok = m.outputPricePerMTok;
      return entry;
    }),
  };
}

const catalogColumns = {
  name: providerAccounts.name,
  enabled: providerAccounts.enabled,
  createdAt: providerAccounts.createdAt,
  models: providerAccounts.models,
};

/** One account's catalog entry, or `null`. */
export async function catalogAccount(db: DispatchDb, name: string): Promise<CatalogAccount | null> {
  const [row] = await db.select(catalogColumns).from(providerAccounts).where(eq(providerAccounts.name, name));
  return row ? catalogEntry(row) : null;
}

/** A page of the catalog (`dispatch.catalog.list`). */
export async function catalogPage(db: DispatchDb, where: PageWhere): Promise<CatalogListResponse> {
  if (where.names?.length === 0) return { accounts: [], next: null };
  const { names, cut } = await pageNames(db, where, PAGE_ROWS_MAX, catalogBytes, CATALOG_FIXED_BYTES);
  if (names.length === 0) return { accounts: [], next: null };
  const rows = await db
    .select(catalogColumns)
    .from(providerAccounts)
    .where(inArray(providerAccounts.name, names))
    .orderBy(asc(providerAccounts.name));
  return { accounts: rows.map(catalogEntry), next: cut ? (names.at(-1) ?? null) : null };
}

/**
 * A page of the admin listing: at most `limit` accounts after `after` (among `names` when given),
 * within the byte bound. `namesContinue` is where the caller's list of names goes on, if it does.
 */
export async function accountsPage(
  db: DispatchDb,
  where: PageWhere & { limit: number; namesContinue?: string | null },
): Promise<{ items: ProviderAccount[]; nextCursor: string | null }> {
  const { names, cut } =
    where.names?.length === 0
      ? { names: [], cut: false }
      : await pageNames(db, where, where.limit, accountBytes, ACCOUNT_FIXED_BYTES);
  const rows =
    names.length === 0
      ? []
      : await db
          .select()
          .from(providerAccounts)
          .where(inArray(providerAccounts.name, names))
          .orderBy(asc(providerAccounts.name));
  const next = cut ? names.at(-1) : (where.namesContinue ?? undefined);
  return { items: rows.map(accountView), nextCursor: next === undefined ? null : encodeCursor(next) };
}

// Names are unique and ordered, so the last name of a page is the cursor's position.
export function decodeNameCursor(cursor: string | undefined): string | undefined {
  return decodeCursor(cursor, (name) => (isAccountName(name) ? name : undefined));
}
