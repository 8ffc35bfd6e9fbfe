import { readErrorMessage } from "../errors.js";

/** `{"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT"}}`, sometimes wrapped in an array. */
export function geminiErrorMessage(body: unknown): string | undefined {
  const node = Array.isArray(body) ? body[0] : body;
  return readErrorMessage(node, "error", "message");
}

/** Gemini answers a bad key with 400 INVALID_ARGUMENT and an ErrorInfo reason of API_KEY_INVALID. */
export function geminiIsAuthError(status: number, body: unknown): boolean {
  if (status !== 400) return false;
  const node = Array.isArray(body) ? body[0] : body;
  const details = (node as { error?: { details?: unknown } } | undefined)?.error?.details;
  return (
    Array.isArray(details) &&
    details.some(
      (d) => typeof d === "object" && d !== null && (d as { reason?: unknown }).reason === "API_KEY_INVALID",
    )
  );
}
