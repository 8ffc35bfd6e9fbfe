import { defineProject } from "vitest/config";
import { sharedProject } from "../vitest.shared.js";

export default defineProject(sharedProject("e2e", { include: ["e2e/**/*.test.ts"], testTimeout: 30_000 }));
