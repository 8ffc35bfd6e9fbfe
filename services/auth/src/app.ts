import { fileURLToPath } from "node:url";
import { startAdminChanges } from "@gatehouse/access-events";
import { authAdminAuditList, authHealth } from "@gatehouse/contracts";
import { type HostDeps, type HostedService, hostService } from "@gatehouse/service-host";
import { bootstrapAdmin } from "./bootstrap.js";
import type { AuthConfig } from "./config.js";
import type { AuthContext } from "./context.js";
import { auditEvents, outbox, schema } from "./db/schema.js";
import { actorVerifyRoute, localActorProof } from "./handlers/actor.js";
import { meRoute } from "./handlers/me.js";
import { patRoutes } from "./handlers/pats.js";
import { userRoutes } from "./handlers/users.js";
import { validateRoute } from "./handlers/validate.js";
import { vatRoutes } from "./handlers/vats.js";
import { virtualAccountRoutes } from "./handlers/virtual-accounts.js";
import { LastUsedBatcher } from "./last-used.js";
import { setupWebhooks } from "./webhooks/index.js";
import { enqueueWebhook, outboundForAccessEvent } from "./webhooks/outbound.js";

export interface AuthDeps extends HostDeps {
  /**
   * Where the generated bootstrap key is shown, once. Default: one line on stdout, outside the JSON
   * logger, so it never lands in a log pipeline.
   */
  print?: (line: string) => void;
  /** The clock (tests). */
  now?: () => Date;
}

const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));

export function buildApp(config: AuthConfig, deps: AuthDeps): HostedService {
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = deps.now ?? (() => new Date());
  return hostService(
    {
      service: "auth",
      description: "Users, virtual accounts and API keys; answers key validation over NATS.",
      health: authHealth,
      migrationsFolder: MIGRATIONS,
      async setup(runtime) {
        const db = runtime.database.drizzle(schema);
        const logger = runtime.logger;

        const boot = await bootstrapAdmin(db, {
          email: config.bootstrapAdminEmail,
          key: config.bootstrapAdminKey,
          now: now(),
        });
        if (boot) {
          logger.info({ email: boot.email }, "bootstrap admin created");
          if (boot.generatedKey) {
            print(
              `Gatehouse: created admin ${boot.email}. Its API key is shown only now; store it safely: ${boot.generatedKey}`,
            );
          }
        }

        const changes = startAdminChanges(runtime, {
          db,
          source: "auth",
          outbox,
          audit: auditEvents,
          leaseMs: config.propagationWaitMs,
          now,
          // Outbound webhooks for the same change, queued in the same transaction.
          onEvent: async (tx, event) => {
            const outbound = outboundForAccessEvent(event);
            if (outbound) await enqueueWebhook(tx, outbound.type, outbound.data, now());
          },
        });

        const lastUsed = new LastUsedBatcher(db, logger, config.lastUsedFlushMs);
        lastUsed.start();
        runtime.onStop("last-used", () => lastUsed.stop());

        const ctx: AuthContext = {
          db,
          config,
          logger,
          lastUsed,
          now,
          changes,
        };
        const webhookRoutes = await setupWebhooks(ctx, runtime.bus.nc, config.prefix, runtime.onStop);
        return [
          validateRoute(ctx),
          actorVerifyRoute(db, now),
          meRoute(ctx),
          ...userRoutes(ctx),
          ...patRoutes(ctx),
          ...virtualAccountRoutes(ctx),
          ...vatRoutes(ctx),
          changes.auditRoute(authAdminAuditList),
          ...webhookRoutes,
        ];
      },
      actorProof: (runtime) => localActorProof(runtime.database.drizzle(schema), now),
    },
    config,
    deps,
  );
}
