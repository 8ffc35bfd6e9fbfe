import type postgres from "postgres";

/** The usage records stored for a principal's answered calls (status 200), read at rest. */
export async function storedAnswered(db: postgres.Sql, principalId: string): Promise<number> {
  const rows = await db`SELECT count(*)::int AS n FROM dispatch.usage_records
    WHERE principal_id = ${principalId} AND status = 200`;
  return Number(rows[0]?.n);
}
