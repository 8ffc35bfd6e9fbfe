import { PROVIDER_TYPES as CONTRACT_PROVIDER_TYPES, GatehouseError } from "@gatehouse/contracts";
import type { z } from "zod";
import { createAnthropicAdapter } from "./anthropic/adapter.js";
import { anthropicAccountConfig } from "./anthropic/auth.js";
import { createAzureOpenAIAdapter } from "./azure-openai/adapter.js";
import { azureAccountConfig } from "./azure-openai/auth.js";
import { createGeminiAdapter } from "./gemini/adapter.js";
import { geminiAccountConfig } from "./gemini/auth.js";
import { createMockAdapter } from "./mock/adapter.js";
import { mockAccountConfig } from "./mock/auth.js";
import { createOpenAIAdapter } from "./openai/adapter.js";
import { openAIAccountConfig } from "./openai/auth.js";
import type { ClientOptions, Operation, ProviderAccount, ProviderAdapter, ProviderType } from "./types.js";

/** The parsed shape every account config schema produces. */
export interface AccountConfigShape {
  baseUrl: string | null;
  credentials: Record<string, string>;
  options: Record<string, unknown>;
}

interface ProviderDefinition<TSchema extends z.ZodType<AccountConfigShape>> {
  schema: TSchema;
  operations: Readonly<Record<Operation, boolean>>;
  /** Honours JSON output (`response_format`, a Responses `text.format`). */
  structuredOutput: boolean;
  /** `gen_ai.provider.name` in traces: the OpenTelemetry GenAI conventions' value for this provider. */
  genAiName: string;
  create(account: ProviderAccount, config: z.output<TSchema>, options: ClientOptions): ProviderAdapter;
}

/** Ties a schema to its factory so `config` is typed per provider, then erases the type for the table. */
function define<TSchema extends z.ZodType<AccountConfigShape>>(definition: ProviderDefinition<TSchema>) {
  return {
    schema: definition.schema as z.ZodType<AccountConfigShape>,
    operations: definition.operations,
    structuredOutput: definition.structuredOutput,
    genAiName: definition.genAiName,
    create(account: ProviderAccount, options: ClientOptions): ProviderAdapter {
      const parsed = definition.schema.safeParse({
        baseUrl: account.baseUrl,
        credentials: account.credentials,
        options: account.options,
      });
      if (!parsed.success) {
        // zod issue messages never echo values, so no credential leaks into detail.
        const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new GatehouseError("provider_error", `provider account ${account.name} is misconfigured`, {
          detail,
        });
      }
      return definition.create(account, parsed.data, options);
    },
  };
}

/** The one place a provider id meets its adapter. Adding a ProviderType without an entry does not compile. */
const PROVIDERS: { readonly [K in ProviderType]: ReturnType<typeof define> } = {
  openai: define({
    schema: openAIAccountConfig,
    operations: { chat: true, embeddings: true, completions: true, responses: true },
    structuredOutput: true,
    genAiName: "openai",
    create: createOpenAIAdapter,
  }),
  "azure-openai": define({
    schema: azureAccountConfig,
    operations: { chat: true, embeddings: true, completions: true, responses: true },
    structuredOutput: true,
    genAiName: "azure.ai.openai",
    create: createAzureOpenAIAdapter,
  }),
  anthropic: define({
    schema: anthropicAccountConfig,
    operations: { chat: true, embeddings: false, completions: false, responses: true },
    structuredOutput: false,
    genAiName: "anthropic",
    create: createAnthropicAdapter,
  }),
  gemini: define({
    schema: geminiAccountConfig,
    operations: { chat: true, embeddings: true, completions: false, responses: true },
    structuredOutput: true,
    genAiName: "gcp.gemini",
    create: createGeminiAdapter,
  }),
  mock: define({
    schema: mockAccountConfig,
    operations: { chat: true, embeddings: true, completions: true, responses: true },
    structuredOutput: true,
    genAiName: "gatehouse.mock",
    create: (account, config) => createMockAdapter(account, config),
  }),
};

/** Every provider type, as contracts lists them (the mapped type above keeps the table complete). */
export const PROVIDER_TYPES: readonly ProviderType[] = CONTRACT_PROVIDER_TYPES;

export function isProviderType(value: unknown): value is ProviderType {
  return typeof value === "string" && Object.hasOwn(PROVIDERS, value);
}

/** Validates admin input `{ baseUrl, credentials, options }` for an account of this type (and applies defaults). */
export function accountConfigSchema(type: ProviderType): z.ZodType<AccountConfigShape> {
  return PROVIDERS[type].schema;
}

export function supportsOperation(type: ProviderType, operation: Operation): boolean {
  return PROVIDERS[type].operations[operation];
}

export function supportsStructuredOutput(type: ProviderType): boolean {
  return PROVIDERS[type].structuredOutput;
}

/** The provider's name as the OpenTelemetry GenAI conventions spell it (`gen_ai.provider.name`). */
export function genAiProviderName(type: ProviderType): string {
  return PROVIDERS[type].genAiName;
}

export function createAdapter(account: ProviderAccount, options: ClientOptions): ProviderAdapter {
  return PROVIDERS[account.type].create(account, options);
}
