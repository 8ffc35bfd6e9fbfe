import type { AdminContext } from "@gatehouse/access-events";
import type { Db, Tx } from "@gatehouse/db";
import type { AclSchema } from "./db/schema.js";

export type AclDb = Db<AclSchema>;
export type AclTx = Tx<AclSchema>;

/** What every handler gets. */
export type AclContext = AdminContext<AclSchema>;
