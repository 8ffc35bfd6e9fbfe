import { defineConfig } from "drizzle-kit";

// `pnpm --filter @gatehouse/dispatch db:generate` writes a new SQL migration from src/db/schema.ts.
export default defineConfig({
  dialect: "postgresql",
  schema: ["./src/db/schema.ts", "./src/db/usage-schema.ts", "./src/db/responses-schema.ts"],
  out: "./migrations",
  schemaFilter: ["dispatch"],
});
