import type { AdminChanges } from "@gatehouse/access-events";
import type { Db, Tx } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import type { AuthConfig } from "./config.js";
import type { AuthSchema } from "./db/schema.js";
import type { LastUsedBatcher } from "./last-used.js";

export type AuthDb = Db<AuthSchema>;
export type AuthTx = Tx<AuthSchema>;

/** What every handler gets. */
export interface AuthContext {
  readonly db: AuthDb;
  readonly config: AuthConfig;
  readonly logger: Logger;
  readonly lastUsed: LastUsedBatcher;
  readonly now: () => Date;
  /**
   * Admin changes: each with its audit row, its access events and their outbound webhooks in one
   * transaction, propagated before it returns.
   */
  readonly changes: AdminChanges<AuthSchema>;
}
