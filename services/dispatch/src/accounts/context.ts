import type { AdminContext } from "@gatehouse/access-events";
import type { BusClient } from "@gatehouse/bus";
import type { Db, Tx } from "@gatehouse/db";
import type { EgressPolicy } from "@gatehouse/egress";
import type { DispatchSchema } from "../db/schema.js";

export type DispatchDb = Db<DispatchSchema>;
export type DispatchTx = Tx<DispatchSchema>;

/** What the provider-account handlers get. */
export interface AccountsContext extends AdminContext<DispatchSchema> {
  /** Asks acl who manages an account: that relationship is acl's data, not ours. */
  readonly client: BusClient;
  readonly masterKey: Buffer;
  /** Base URLs refused on their face are refused at the admin API; calls check the resolved address. */
  readonly egress: EgressPolicy;
  /**
   * The database is one connection (embedded PGlite; under `pnpm start` shared with acl and auth): a
   * transaction holds it, so nothing may wait on another service inside one.
   */
  readonly oneConnection: boolean;
}
