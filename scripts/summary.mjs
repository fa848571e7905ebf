// The closing line of `npm test`: every package's vitest JSON report added up, in the plain
// "N passed, N failed" form. Runs only after every task before it passed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
// Every package with tests (a vitest config), the bench's own and the cross-package runs in test/.
const reports = [
  ...readdirSync(join(root, "packages")).map((dir) => join("packages", dir)),
  "bench",
  "test",
]
  .filter((dir) => existsSync(join(root, dir, "vitest.config.ts")))
  .map((dir) => join(root, dir, "test-results.json"));
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of reports) {
  if (!existsSync(file)) {
    console.error(`missing test report ${file}`);
    process.exit(1);
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  console.log(
    `${file.slice(root.length + 1)}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`,
  );
}
// The conformance table (test/conformance/conformance.test.ts writes it; turbo shows the logs of
// failed tasks only, so a passing run's table is shown here).
const conformance = join(root, "test", "conformance-results.txt");
if (existsSync(conformance)) console.log(`\n${readFileSync(conformance, "utf8")}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
