import { fileURLToPath } from "node:url";
import { auditWriter } from "@gatehouse/access-events";
import { dispatchHealth } from "@gatehouse/contracts";
import { actorProofFromAuth, type HostDeps, type HostedService, hostService } from "@gatehouse/service-host";
import { setupAccounts } from "./accounts/setup.js";
import type { DispatchConfig } from "./config.js";
import { auditEvents, schema } from "./db/schema.js";
import { setupInvoke } from "./invoke/setup.js";

// Resolved from the module, so it works from src (tests) and dist (production) alike.
const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

export function buildApp(config: DispatchConfig, deps: HostDeps): HostedService {
  return hostService(
    {
      service: "dispatch",
      description: "Provider accounts and credentials; calls providers for ingress over NATS.",
      health: dispatchHealth,
      migrationsFolder,
      setup: async (runtime) => {
        const accounts = await setupAccounts(config, runtime);
        const invoke = await setupInvoke(config, runtime, accounts.ctx);
        return [...accounts.routes, ...invoke.routes];
      },
      actorProof: (runtime) =>
        actorProofFromAuth(runtime.client, auditWriter(runtime.database.drizzle(schema), auditEvents)),
    },
    config,
    deps,
  );
}
