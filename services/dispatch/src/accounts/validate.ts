import {
  type AccountOptions,
  type Credentials,
  GatehouseError,
  type ProviderType,
} from "@gatehouse/contracts";

export interface AccountConfigInput {
  baseUrl: string | null;
  credentials: Credentials;
  options: AccountOptions;
}

/**
 * Checks an account's connection settings before they are stored. This is the one place that will
 * delegate to `accountConfigSchema(type)` from `@gatehouse/providers` once that exists (per-type
 * required credentials and base-URL rules); until then it enforces what holds for every type.
 * Throws `validation_failed` naming the field, never echoing a credential value.
 */
export function validateAccountConfig(_type: ProviderType, input: AccountConfigInput): void {
  if (input.baseUrl !== null) {
    let url: URL;
    try {
      url = new URL(input.baseUrl);
    } catch {
      throw invalid("baseUrl must be an absolute http(s) URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw invalid("baseUrl must be an absolute http(s) URL");
    }
    // Secrets belong in credentials (encrypted), not in a URL that is stored and shown in clear.
    if (url.username !== "" || url.password !== "") {
      throw invalid("baseUrl must not contain a user name or password; put them in credentials");
    }
    if (url.hash !== "") throw invalid("baseUrl must not contain a fragment");
  }
  for (const [name, value] of Object.entries(input.credentials)) {
    if (value.length === 0) throw invalid(`credentials.${name} must not be empty`);
  }
}

function invalid(message: string): GatehouseError {
  return new GatehouseError("validation_failed", message);
}
