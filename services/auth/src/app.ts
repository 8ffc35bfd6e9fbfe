import { fileURLToPath } from "node:url";
import { startAccessEventPublisher } from "@gatehouse/access-events";
import { authHealth } from "@gatehouse/contracts";
import { type HostDeps, type HostedService, hostService } from "@gatehouse/service-host";
import { bootstrapAdmin } from "./bootstrap.js";
import type { AuthConfig } from "./config.js";
import type { AuthContext } from "./context.js";
import { outbox, schema } from "./db/schema.js";
import { actorVerifyRoute, localActorProof } from "./handlers/actor.js";
import { auditRoute } from "./handlers/audit.js";
import { meRoute } from "./handlers/me.js";
import { patRoutes } from "./handlers/pats.js";
import { userRoutes } from "./handlers/users.js";
import { validateRoute } from "./handlers/validate.js";
import { vatRoutes } from "./handlers/vats.js";
import { virtualAccountRoutes } from "./handlers/virtual-accounts.js";
import { LastUsedBatcher } from "./last-used.js";
import { setupWebhooks } from "./webhooks/index.js";

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

        const events = startAccessEventPublisher({
          db,
          table: outbox,
          source: "auth",
          nc: runtime.bus.nc,
          prefix: config.prefix,
          logger,
          leaseMs: config.propagationWaitMs,
          onStop: runtime.onStop,
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
          propagate: events.propagate,
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
          auditRoute(ctx),
          ...webhookRoutes,
        ];
      },
      actorProof: (runtime) => localActorProof(runtime.database.drizzle(schema), now),
    },
    config,
    deps,
  );
}
