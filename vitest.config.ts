import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "test", "bench"],
    // Integration tests each get their own database and subject prefix, but the machine has 2 cores.
    maxWorkers: 2,
  },
});
