import type { UserWorkspaceConfig } from "vitest/config";

/**
 * Every package resolves its workspace dependencies to their TypeScript sources
 * (the "@gatehouse/source" export condition), so tests never need a build first.
 */
const sourceConditions = ["@gatehouse/source", "node", "import", "default"];

export function sharedProject(
  name: string,
  overrides: UserWorkspaceConfig["test"] = {},
): UserWorkspaceConfig {
  return {
    resolve: { conditions: sourceConditions },
    ssr: { resolve: { conditions: sourceConditions, externalConditions: ["node"] } },
    test: {
      name,
      environment: "node",
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: 20_000,
      hookTimeout: 30_000,
      ...overrides,
    },
  };
}
