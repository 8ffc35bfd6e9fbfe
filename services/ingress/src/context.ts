import type { BusClient, BusConnection } from "@gatehouse/bus";
import type { Logger } from "@gatehouse/kit";
import type { IngressConfig } from "./config.js";

/** What every ingress feature plugin gets: config, logger and the bus. */
export interface IngressContext {
  readonly config: IngressConfig;
  readonly logger: Logger;
  readonly bus: BusConnection;
  readonly client: BusClient;
}
