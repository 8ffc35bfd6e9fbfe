export {
  type AuthorizedModel,
  authorizeModel,
  type CallableModel,
  callableModels,
  invalidateCatalog,
} from "./authorize.js";
export { modelId, parseModelRef } from "./model-ref.js";
