import { defineConfig } from "drizzle-kit";

// `pnpm --filter @gatehouse/auth db:generate` writes a new SQL migration from src/db/schema.ts.
export default defineConfig({
  dialect: "postgresql",
  schema: ["./src/db/schema.ts", "./src/db/webhooks-schema.ts"],
  out: "./migrations",
  schemaFilter: ["auth"],
});
