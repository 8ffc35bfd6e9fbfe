export {
  type AuthorizedModel,
  authorizeModel,
  findAccount,
  invalidateCatalog,
} from "./authorize.js";
export { type CallableModel, callableModels } from "./listing.js";
export { modelId, parseModelRef } from "./model-ref.js";
