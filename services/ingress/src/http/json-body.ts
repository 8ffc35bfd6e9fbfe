import type { FastifyInstance } from "fastify";

/**
 * An empty body sent as `application/json` is no body. Admin actions that take none
 * (`POST /api/v1/users/:id/deactivate`, `…/disable`, `…/revoke-all`) are often called with the
 * header set and nothing after it (curl with a default header, SDKs that always send it); fastify's
 * own parser answers those with 400. A route that needs a body still gets its 422 from validation.
 * Anything non-empty is parsed as fastify does, prototype poisoning refused. Feature plugins that
 * read JSON their own way (inference) replace this parser in their scope.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "") {
      done(null, undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
