import { Empty, HealthResponse } from "./common.js";
import { defineEndpoint } from "./subjects.js";

export const aclHealth = defineEndpoint("acl", "health", Empty, HealthResponse);
