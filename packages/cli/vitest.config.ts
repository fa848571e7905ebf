import { defineProject, mergeConfig } from "vitest/config";
import { sharedConfig } from "../../vitest.shared.js";

// The tests run the built command as a user would (a child process): the global setup builds it
// first (turbo builds the dependencies before `test`, not the package itself).
export default mergeConfig(
  sharedConfig,
  defineProject({
    test: {
      name: "cli",
      globalSetup: ["./test/global-setup.ts"],
      testTimeout: 120_000,
      hookTimeout: 180_000,
    },
  }),
);
