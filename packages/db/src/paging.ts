import { GatehouseError } from "@gatehouse/contracts";
import { type AnyColumn, asc, desc, type SQL, sql } from "drizzle-orm";

/**
 * Keyset paging, the one way every admin list pages. A cursor is the position of a page's last row,
 * base64url-encoded: opaque to callers, read only by the service that issued it. A cursor that does
 * not decode is the caller's mistake, answered as `validation_failed` (422) like any other bad field.
 */
export function encodeCursor(position: string): string {
  return Buffer.from(position, "utf8").toString("base64url");
}

/** The position in `cursor`, as `parse` reads it; `parse` answers undefined for one it does not accept. */
export function decodeCursor<P>(
  cursor: string | undefined,
  parse: (position: string) => P | undefined,
): P | undefined {
  if (cursor === undefined) return undefined;
  const position = parse(Buffer.from(cursor, "base64url").toString("utf8"));
  if (position === undefined) {
    throw new GatehouseError("validation_failed", "invalid request: cursor is not one this API issued");
  }
  return position;
}

/** The position of a row in a list ordered by (timestamp, id): exact for millisecond timestamps. */
export interface Position {
  at: Date;
  id: string;
}

const POSITION = /^(\d{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/**
 * The last millisecond of year 9999: past it a Date's ISO text has a six-digit year (`+033658-…`),
 * which Postgres does not read as a timestamp — a made-up cursor would fail the query (500).
 */
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function encodePosition(p: Position): string {
  return encodeCursor(`${p.at.getTime()}.${p.id}`);
}

export function decodePosition(cursor: string | undefined): Position | undefined {
  return decodeCursor(cursor, (text) => {
    const m = POSITION.exec(text);
    if (!m?.[1] || !m[2] || Number(m[1]) > LAST_MS) return undefined;
    return { at: new Date(Number(m[1])), id: m[2] };
  });
}

/** The rows after the cursor's position, for a list ordered by (at, id) in `dir`. */
export function keysetAfter(
  at: AnyColumn,
  id: AnyColumn,
  cursor: string | undefined,
  dir: "asc" | "desc",
): SQL {
  const pos = decodePosition(cursor);
  if (!pos) return sql`true`;
  const op = dir === "asc" ? sql`>` : sql`<`;
  return sql`(${at}, ${id}) ${op} (${pos.at.toISOString()}::timestamptz, ${pos.id}::uuid)`;
}

export function keysetOrder(at: AnyColumn, id: AnyColumn, dir: "asc" | "desc"): SQL[] {
  return dir === "asc" ? [asc(at), asc(id)] : [desc(at), desc(id)];
}

/**
 * A page from `limit + 1` rows fetched in order: the extra row only says that there is a next page,
 * which starts after the last row kept. With `maxBytes`, the page also ends before the item that
 * would take its items' JSON past that many bytes (it always holds one, so paging moves on), and
 * the next page starts there.
 */
export function pageFrom<R, T>(
  rows: R[],
  limit: number,
  positionOf: (row: R) => Position,
  view: (row: R) => T,
  maxBytes = Number.POSITIVE_INFINITY,
): { items: T[]; nextCursor: string | null } {
  const items: T[] = [];
  let bytes = 2; // the array's brackets
  let last: R | undefined;
  for (const row of rows.slice(0, limit)) {
    const item = view(row);
    if (maxBytes !== Number.POSITIVE_INFINITY) {
      // Each item's JSON and the comma before it.
      bytes += Buffer.byteLength(JSON.stringify(item)) + (items.length > 0 ? 1 : 0);
      if (items.length > 0 && bytes > maxBytes) break;
    }
    items.push(item);
    last = row;
  }
  const more = rows.length > items.length;
  return { items, nextCursor: more && last ? encodePosition(positionOf(last)) : null };
}
