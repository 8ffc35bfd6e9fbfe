import { z } from "zod";

/** The mock provider has no upstream: no base URL, no credentials. */
export const mockAccountConfig = z.strictObject({
  baseUrl: z
    .null({ error: "baseUrl is not allowed for mock accounts" })
    .optional()
    .transform(() => null),
  credentials: z.strictObject({}).default({}),
  options: z
    .strictObject({ embeddingDimensions: z.int().min(1).max(4096).default(8) })
    .default({ embeddingDimensions: 8 }),
});
export type MockAccountConfig = z.output<typeof mockAccountConfig>;
