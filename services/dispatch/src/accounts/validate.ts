import {
  type AccountOptions,
  type Credentials,
  GatehouseError,
  type ProviderType,
} from "@gatehouse/contracts";
import type { EgressPolicy } from "@gatehouse/egress";
import { accountConfigSchema } from "@gatehouse/providers";

export interface AccountConfigInput {
  baseUrl: string | null;
  /** `undefined` on an update that keeps the stored credentials (they are not re-checked); `{}` clears them. */
  credentials: Credentials | undefined;
  options: AccountOptions;
}

/**
 * Checks an account's connection settings before they are stored, with the provider's own schema
 * (`accountConfigSchema(type)` from `@gatehouse/providers`: required credentials, base-URL rules,
 * known options), so a misconfigured account is refused at the admin API rather than at call time.
 * Throws `validation_failed` naming the field, never echoing a credential value.
 */
export function validateAccountConfig(type: ProviderType, input: AccountConfigInput): void {
  if (input.baseUrl !== null) checkBaseUrl(input.baseUrl);
  for (const [name, value] of Object.entries(input.credentials ?? {})) {
    if (value.length === 0) throw invalid(`credentials.${name} must not be empty`);
  }
  const parsed = accountConfigSchema(type).safeParse({
    baseUrl: input.baseUrl,
    credentials: input.credentials ?? {},
    options: input.options,
  });
  if (parsed.success) return;
  // Stored credentials were checked when they were set; an update without credentials keeps them.
  // No credentials at all is a state the API shows (`credentials_set: false`): the account can be
  // created first and keyed later; calling it before then fails as misconfigured.
  const credentialsGiven = input.credentials !== undefined && Object.keys(input.credentials).length > 0;
  const issues = parsed.error.issues.filter((issue) => credentialsGiven || issue.path[0] !== "credentials");
  if (issues.length === 0) return;
  // zod issue messages name paths and keys, never the values, so no credential is echoed.
  throw invalid(
    issues
      .map((issue) => {
        const path = issue.path.map(String).join(".");
        return path === "" ? issue.message : `${path}: ${issue.message}`;
      })
      .join("; "),
  );
}

/**
 * A new base URL the egress policy refuses on its face (an IP literal in a refused range, in any
 * spelling the URL parser normalises, or `localhost`) is refused here, naming the rule. No DNS: a
 * name is judged on the address each connection resolves to, at call time.
 */
export function requireEgressAllowed(egress: EgressPolicy, baseUrl: string): void {
  const refusal = egress.checkUrl(baseUrl);
  if (refusal) throw invalid(`baseUrl: ${refusal.message}`);
}

/** The rules for every type, with messages that say what to do. */
function checkBaseUrl(baseUrl: string): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
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

function invalid(message: string): GatehouseError {
  return new GatehouseError("validation_failed", message);
}
