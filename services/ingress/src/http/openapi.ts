import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";

/**
 * Routes declare zod schemas (validated at the edge, typed in handlers); the same schemas produce the
 * OpenAPI document served at `/api/v1/openapi.json`.
 */
export async function registerSchemas(app: FastifyInstance): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Gatehouse admin API",
        version: "1",
        description: "Users, keys, virtual accounts, provider accounts, grants and audit events.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A Gatehouse API key" } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get("/api/v1/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
