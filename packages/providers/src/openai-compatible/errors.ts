import { readErrorMessage } from "../errors.js";

/** OpenAI-style error bodies: `{"error": {"message": "...", "type": "...", "code": ...}}`; some servers send `{"message": ...}` or `{"detail": ...}`. */
export function openAIErrorMessage(body: unknown): string | undefined {
  return (
    readErrorMessage(body, "error", "message") ??
    readErrorMessage(body, "error") ??
    readErrorMessage(body, "message") ??
    readErrorMessage(body, "detail")
  );
}
