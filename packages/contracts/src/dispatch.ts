import { Empty, HealthResponse } from "./common.js";
import { defineEndpoint } from "./subjects.js";

export const dispatchHealth = defineEndpoint("dispatch", "health", Empty, HealthResponse);
