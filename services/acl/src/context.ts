import type { AdminChanges } from "@gatehouse/access-events";
import type { Db, Tx } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import type { AclSchema } from "./db/schema.js";

export type AclDb = Db<AclSchema>;
export type AclTx = Tx<AclSchema>;

/** What every handler gets. */
export interface AclContext {
  readonly db: AclDb;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Admin changes: each with its audit row and access events in one transaction, propagated before it returns. */
  readonly changes: AdminChanges<AclSchema>;
}
