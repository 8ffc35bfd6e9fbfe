export {
  type AuthorizedModel,
  type AuthorizedRoute,
  authorizeModel,
  authorizeTarget,
  findAccount,
  findRoute,
  invalidateCatalog,
  invalidateRoute,
} from "./authorize.js";
export { type CallableModel, callableModels } from "./listing.js";
export { modelId, parseModelRef } from "./model-ref.js";
