import { dispatchHealth } from "@gatehouse/contracts";
import { type HostDeps, type HostedService, hostService } from "@gatehouse/service-host";
import type { DispatchConfig } from "./config.js";

export function buildApp(config: DispatchConfig, deps: HostDeps): HostedService {
  return hostService(
    {
      service: "dispatch",
      description: "Provider accounts and credentials; calls providers for ingress over NATS.",
      health: dispatchHealth,
      setup: () => [],
    },
    config,
    deps,
  );
}
