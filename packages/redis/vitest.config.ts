import { defineConfig, mergeConfig } from "vitest/config";
import { sharedConfig } from "../../vitest.shared.js";

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      name: "redis",
      // Two files at a time (vitest would run one on 2 cores): the store and lock tests run
      // while the many-replicas test runs its fixed duration. Each file has its own Redis, and
      // every test waits for what it needs rather than for a time.
      maxWorkers: 2,
      minWorkers: 1,
    },
  }),
);
