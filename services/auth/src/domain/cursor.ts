import { GatehouseError } from "@gatehouse/contracts";

/** Keyset position of the last row of a page: (created-at, id). Opaque to callers. */
export interface Position {
  at: Date;
  id: string;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(`${p.at.getTime()}.${p.id}`, "utf8").toString("base64url");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const dot = text.indexOf(".");
  const ms = Number(text.slice(0, dot));
  const id = text.slice(dot + 1);
  if (dot <= 0 || !Number.isSafeInteger(ms) || !UUID.test(id)) {
    throw new GatehouseError("validation_failed", "invalid request: cursor is not one this API issued");
  }
  return { at: new Date(ms), id };
}

/** Trim the look-ahead row and say where the next page starts. */
export function pageFrom<R, T>(
  rows: R[],
  limit: number,
  positionOf: (row: R) => Position,
  view: (row: R) => T,
): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return {
    items: pageRows.map(view),
    nextCursor: more && last ? encodeCursor(positionOf(last)) : null,
  };
}
