import { aclHealth } from "@gatehouse/contracts";
import { type HostDeps, type HostedService, hostService } from "@gatehouse/service-host";
import type { AclConfig } from "./config.js";

export function buildApp(config: AclConfig, deps: HostDeps): HostedService {
  return hostService(
    {
      service: "acl",
      description: "Teams and grants; answers access checks over NATS.",
      health: aclHealth,
      setup: () => [],
    },
    config,
    deps,
  );
}
