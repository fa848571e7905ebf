import { defineConfig } from "vitest/config";

/** Shared by every package: tests run on the TypeScript sources (the "source" export condition). */
export const sharedConfig = defineConfig({
  resolve: { conditions: ["source"] },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default"],
  },
});
