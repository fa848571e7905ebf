import { defineConfig } from "vitest/config";

// Tests run on the TypeScript sources of sibling packages through the "@authchart/source" export
// condition (a name no dependency uses); Vite runs tests in its SSR environment, so it is set
// there too, followed by the usual conditions.
const conditions = ["@authchart/source", "module", "node", "import", "default"];

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    // The JSON report is what scripts/summary.mjs adds up for the closing line of `npm test`.
    reporters: ["default", ["json", { outputFile: "test-results.json" }]],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
