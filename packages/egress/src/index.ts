export { type EgressRule, effectiveAddress, refusedRule } from "./address.js";
export {
  type EgressAllowlist,
  EMPTY_ALLOWLIST,
  egressAllowEnv,
  normalizeHost,
  parseEgressAllowlist,
} from "./allowlist.js";
export {
  EGRESS_REFUSED,
  EgressRefusedError,
  egressConnector,
  isEgressRefused,
  type Resolve,
} from "./connect.js";
export { EgressPolicy, type EgressPolicyOptions, type EgressRefusal } from "./policy.js";
