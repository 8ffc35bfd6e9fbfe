import { GatehouseError } from "@gatehouse/contracts";

/** Keyset cursor over (timestamp, id): opaque to callers, exact for millisecond timestamps. */
export interface Position {
  at: Date;
  id: string;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(`${p.at.getTime()}|${p.id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^(\d{1,15})\|([0-9a-f-]{36})$/.exec(text);
  if (!match?.[1] || !match[2]) throw new GatehouseError("invalid_request", "cursor is not valid");
  return { at: new Date(Number(match[1])), id: match[2] };
}

/** Fetch `limit + 1` rows; the extra one says whether there is a next page. */
export function pageFrom<R, T>(
  rows: R[],
  limit: number,
  position: (row: R) => Position,
  view: (row: R) => T,
): { items: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(view),
    nextCursor: rows.length > limit && last ? encodeCursor(position(last)) : null,
  };
}
