import { z } from "zod";

/** An http(s) URL without credentials, query or fragment (they would leak or be silently ignored). */
export const httpBaseUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .refine((value) => {
    const url = new URL(value);
    return url.username === "" && url.password === "" && url.search === "" && url.hash === "";
  }, "must not contain credentials, a query or a fragment");

export const apiKeyCredentials = z.strictObject({ apiKey: z.string().min(1, "apiKey is required") });

/** The parsed, defaulted configuration of an account. */
export interface AccountConfig<TOptions> {
  baseUrl: string | null;
  credentials: Record<string, string>;
  options: TOptions;
}
