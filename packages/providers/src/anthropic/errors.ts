import { readErrorMessage } from "../errors.js";

/** `{"type":"error","error":{"type":"invalid_request_error","message":"..."}}` */
export function anthropicErrorMessage(body: unknown): string | undefined {
  return readErrorMessage(body, "error", "message");
}
