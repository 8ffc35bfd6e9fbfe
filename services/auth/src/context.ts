import type { AdminContext } from "@gatehouse/access-events";
import type { Db, Tx } from "@gatehouse/db";
import type { AuthConfig } from "./config.js";
import type { AuthSchema } from "./db/schema.js";
import type { LastUsedBatcher } from "./last-used.js";

export type AuthDb = Db<AuthSchema>;
export type AuthTx = Tx<AuthSchema>;

/**
 * What every handler gets. Its admin changes also queue, in the same transaction, the outbound
 * webhooks of the access events they emit.
 */
export interface AuthContext extends AdminContext<AuthSchema> {
  readonly config: AuthConfig;
  readonly lastUsed: LastUsedBatcher;
}
