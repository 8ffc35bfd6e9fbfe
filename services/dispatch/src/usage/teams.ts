import type { BusClient } from "@gatehouse/bus";
import { aclTeamsOf, TEAMS_OF_MAX_USERS } from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import type { UsageRow } from "../db/usage-insert.js";

/** The teams of each user, by user id. */
export type TeamsOf = (userIds: string[]) => Promise<Record<string, string[]>>;

/** After acl failed to answer, records are stored without teams for this long before it is asked again. */
const ACL_BACKOFF_MS = 30_000;

/**
 * Asks acl, which owns team membership, at most `TEAMS_OF_MAX_USERS` users a request. While acl is
 * down, each batch would otherwise wait out a request timeout before being stored.
 */
export function teamsFromAcl(client: BusClient, now = Date.now): TeamsOf {
  let failedAt = Number.NEGATIVE_INFINITY;
  return async (userIds) => {
    if (now() - failedAt < ACL_BACKOFF_MS) throw new Error("acl did not answer recently");
    try {
      return await ask(client, userIds);
    } catch (err) {
      failedAt = now();
      throw err;
    }
  };
}

async function ask(client: BusClient, userIds: string[]): Promise<Record<string, string[]>> {
  const teams: Record<string, string[]> = {};
  for (let i = 0; i < userIds.length; i += TEAMS_OF_MAX_USERS) {
    const answer = await client.request(aclTeamsOf, { userIds: userIds.slice(i, i + TEAMS_OF_MAX_USERS) });
    Object.assign(teams, answer.teams);
  }
  return teams;
}

/**
 * Sets `team_ids` on the users' rows that have none: the teams they are in when their records are
 * stored (normally within a second of the call; after a database outage, when it is over). Ingress
 * does not know teams, and asking on the call path would cost every call a round trip; one question
 * per stored batch costs nothing there. If acl cannot answer, the rows are stored without teams
 * rather than held back: usage is never lost for want of a team.
 */
export async function addTeams(rows: UsageRow[], teamsOf: TeamsOf, log: Logger): Promise<void> {
  const users = [
    ...new Set(
      rows.filter((r) => r.principal_kind === "user" && r.team_ids === null).map((r) => r.principal_id),
    ),
  ];
  if (users.length === 0) return;
  let teams: Record<string, string[]>;
  try {
    teams = await teamsOf(users);
  } catch (err) {
    log.warn({ err, users: users.length }, "teams unknown; usage records stored without them");
    return;
  }
  for (const r of rows) {
    if (r.principal_kind === "user" && r.team_ids === null) r.team_ids = teams[r.principal_id] ?? null;
  }
}
