import { GatehouseError } from "@gatehouse/contracts";
import type { FastifyInstance } from "fastify";

/**
 * An empty body sent as `application/json` is no body. Admin actions that take none
 * (`POST /api/v1/users/:id/deactivate`, `…/disable`, `…/revoke-all`) are often called with the
 * header set and nothing after it (curl with a default header, SDKs that always send it); fastify's
 * own parser answers those with 400. A route that needs a body still gets its 422 from validation.
 * Anything non-empty is parsed as fastify does, prototype poisoning refused, nesting bounded. Feature plugins that
 * read JSON their own way (inference) replace this parser in their scope.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const buffer = body as Buffer;
    if (buffer.length === 0) {
      done(null, undefined);
      return;
    }
    if (nestsDeeperThan(buffer)) {
      done(tooDeepError(), undefined);
      return;
    }
    parse(request, buffer.toString("utf8"), done);
  });
}

/**
 * How deep arrays and objects may nest in a JSON body. Real requests (tool schemas, structured-output
 * schemas, content parts) stay far below it; what goes deeper exists to exhaust a recursive walk
 * (validation, translation, `JSON.stringify`) further down the line.
 */
export const JSON_MAX_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** Openers in the text, counting stops once past `limit` (native `indexOf`: no per-byte JS). */
function openersUpTo(text: Buffer, limit: number): number {
  let n = 0;
  for (const opener of [OPEN_BRACE, OPEN_BRACKET]) {
    for (let at = text.indexOf(opener); at >= 0; at = text.indexOf(opener, at + 1)) {
      if (++n > limit) return n;
    }
  }
  return n;
}

/**
 * True when JSON text nests arrays/objects deeper than `limit`, checked on the bytes before parsing.
 * A body with no more than `limit` openers in all cannot, so the usual request costs two native scans;
 * only a body with many brackets is walked byte by byte (brackets inside strings do not count).
 */
export function nestsDeeperThan(text: Buffer, limit: number = JSON_MAX_DEPTH): boolean {
  if (openersUpTo(text, limit) <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

export function tooDeepError(): GatehouseError {
  return new GatehouseError(
    "invalid_request",
    `request body nests arrays and objects more than ${JSON_MAX_DEPTH} levels deep`,
  );
}
