import { authHealth } from "@gatehouse/contracts";
import { type HostDeps, type HostedService, hostService } from "@gatehouse/service-host";
import type { AuthConfig } from "./config.js";

export function buildApp(config: AuthConfig, deps: HostDeps): HostedService {
  return hostService(
    {
      service: "auth",
      description: "Users, virtual accounts and API keys; answers key validation over NATS.",
      health: authHealth,
      setup: () => [],
    },
    config,
    deps,
  );
}
