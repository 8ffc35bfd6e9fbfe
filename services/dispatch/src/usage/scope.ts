import { isAdmin } from "@gatehouse/access-events";
import type { BusClient } from "@gatehouse/bus";
import { type Actor, aclAccounts, aclCheck, GatehouseError } from "@gatehouse/contracts";
import type { Db } from "@gatehouse/db";
import { inArray } from "drizzle-orm";
import { providerAccounts } from "../db/schema.js";
import type { usageDaily, usageDailyAccounts, usageRecords } from "../db/usage-schema.js";
import type { UsageScope } from "./query.js";

export type UsageDb = Db<{
  usageRecords: typeof usageRecords;
  usageDaily: typeof usageDaily;
  usageDailyAccounts: typeof usageDailyAccounts;
}>;
/** Where the provider accounts are (dispatch's own table): when each was created. */
export type AccountsDb = Db<{ providerAccounts: typeof providerAccounts }>;

/**
 * When the accounts that have these names now were created; a name no account has is left out.
 * Records name their account, so a manager's view starts there: calls to an earlier account of the
 * same name (deleted, then the name created again) were someone else's.
 */
export async function accountsCreatedAt(
  db: AccountsDb,
  names: readonly string[],
): Promise<Map<string, Date>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .select({ name: providerAccounts.name, createdAt: providerAccounts.createdAt })
    .from(providerAccounts)
    .where(inArray(providerAccounts.name, [...names]));
  return new Map(rows.map((r) => [r.name, r.createdAt]));
}

/** More managed accounts than this and the caller is asked to filter by account (the list goes into every query). */
const MAX_MANAGED_ACCOUNTS = 1_000;

/**
 * What `actor` may read: a tenant admin every record; anyone else their own calls and the calls to
 * the provider accounts they hold the manager role on (asked of acl, which owns grants; no answer is
 * never a yes: its error propagates), since each of those accounts was created.
 */
export async function usageScope(
  client: BusClient,
  db: AccountsDb,
  actor: Actor,
  account?: string,
): Promise<UsageScope> {
  if (isAdmin(actor)) return { all: true };
  const { id } = actor.principal;
  const managed = await managedAccounts(client, actor, account);
  if (managed === "all") return { all: true };
  const since = await accountsCreatedAt(db, managed);
  return { all: false, principalId: id, accounts: managed.filter((a) => since.has(a)), since };
}

async function managedAccounts(client: BusClient, actor: Actor, account?: string): Promise<string[] | "all"> {
  const { id, kind, role } = actor.principal;
  if (account !== undefined) {
    // Filtered to one account: one question, however many accounts the caller manages.
    const decision = await client.request(aclCheck, {
      principal: { id, kind, role },
      account,
      minimumRole: "manager",
    });
    return decision.allowed ? [account] : [];
  }
  const accounts: string[] = [];
  let after: string | undefined;
  do {
    const page = await client.request(aclAccounts, {
      principal: { id, kind, role },
      ...(after === undefined ? {} : { after }),
    });
    if (page.all) return "all";
    for (const a of page.accounts) if (a.role === "manager") accounts.push(a.account);
    if (accounts.length > MAX_MANAGED_ACCOUNTS) {
      throw new GatehouseError(
        "validation_failed",
        `invalid request: you manage more than ${MAX_MANAGED_ACCOUNTS} provider accounts; filter by provider_account`,
      );
    }
    after = page.next ?? undefined;
  } while (after !== undefined);
  return accounts;
}
