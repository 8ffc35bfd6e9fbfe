import { outboxTable } from "@gatehouse/outbox";
import { pgSchema } from "drizzle-orm/pg-core";

export const authSchema = pgSchema("auth");
export const outbox = outboxTable(authSchema);
