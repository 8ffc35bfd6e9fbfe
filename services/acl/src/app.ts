import { fileURLToPath } from "node:url";
import { auditWriter, startAdminChanges } from "@gatehouse/access-events";
import { aclAdminAuditList, aclHealth } from "@gatehouse/contracts";
import {
  type ActorProof,
  actorProofFromAuth,
  type HostDeps,
  type HostedService,
  hostService,
  proveActor,
  type ServiceRuntime,
} from "@gatehouse/service-host";
import { followSpend } from "./budgets/spend.js";
import type { AclConfig } from "./config.js";
import type { AclContext } from "./context.js";
import { startRetiredPrune } from "./db/retired.js";
import { auditEvents, outbox, schema } from "./db/schema.js";
import { budgetRoutes } from "./handlers/budgets.js";
import { checkRoutes } from "./handlers/check.js";
import { grantRoutes } from "./handlers/grants.js";
import { rateLimitRoutes } from "./handlers/rate-limits.js";
import { teamRoutes } from "./handlers/teams.js";

// Resolved from the module, so it works from src (tests) and dist (production) alike.
const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

const proofOf = (runtime: ServiceRuntime): ActorProof =>
  actorProofFromAuth(runtime.client, auditWriter(runtime.database.drizzle(schema), auditEvents));

export function buildApp(config: AclConfig, deps: HostDeps): HostedService {
  return hostService(
    {
      service: "acl",
      description: "Teams and grants; answers access checks over NATS.",
      health: aclHealth,
      migrationsFolder,
      setup: async (runtime) => {
        const db = runtime.database.drizzle(schema);
        const changes = startAdminChanges(runtime, {
          db,
          source: "acl",
          outbox,
          audit: auditEvents,
          leaseMs: config.accessLeaseMs,
        });
        const ctx: AclContext = { db, logger: runtime.logger, now: () => new Date(), changes };
        const spend = await followSpend(ctx, runtime.bus.nc, config.prefix, {
          onSpend: (stage, n) => runtime.metrics.budgetSpendRecordsAt(stage, n),
          leaseMs: config.accessLeaseMs,
        });
        runtime.onStop("budget-spend", () => spend.stop());
        // Retired ids are needed only while a request about them can still arrive (db/retired.ts).
        const prune = startRetiredPrune(db, ctx.now, runtime.logger);
        runtime.onStop("retired-prune", () => prune.stop());
        return [
          ...checkRoutes(ctx),
          ...grantRoutes(ctx, (r) => proveActor(r, proofOf(runtime), runtime.logger)),
          ...teamRoutes(ctx),
          ...rateLimitRoutes(ctx),
          ...budgetRoutes(ctx),
          changes.auditRoute(aclAdminAuditList),
        ];
      },
      actorProof: proofOf,
    },
    config,
    deps,
  );
}
