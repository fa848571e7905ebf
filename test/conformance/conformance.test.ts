/**
 * The conformance issue's "done when": the 55 conformance scenario runs pass — every client auth
 * scenario of @modelcontextprotocol/conformance 0.1.16 (22) and of 0.2.0-alpha.12 at
 * --spec-version 2025-11-25 --force (33), authorization code and the extension grants (client
 * credentials, enterprise-managed authorization, DPoP, workload-identity JWT bearer) alike,
 * against examples/conformance-client. Any FAILURE or WARNING check fails; there is no
 * expected-failures list and no exclusion list. test/conformance/SCENARIOS.md says what each
 * scenario checks and what context it hands the client.
 *
 * Needs the npm registry (for the suite and Node 22) and a built workspace (`npm run build`, which
 * `npm test` does first). Manual runs: `cd test && npx vitest run conformance`, optionally with
 *   AUTHCHART_CONFORMANCE_ONLY=auth/dpop,iss   scenario names (exact) or substrings of them;
 *   AUTHCHART_CONFORMANCE_VERSION=0.1.16       install and run this suite version only;
 *   AUTHCHART_CONFORMANCE_CONCURRENCY=N        default 2;
 *   AUTHCHART_CONFORMANCE_VIA_NPX=1            start each scenario through npx rather than the
 *                                              executables npx installed.
 * The table is printed and written to test/conformance-results.txt (which the closing summary of
 * `npm test` prints).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type ConformanceRun, formatTable, runConformance, suiteVersions } from "./runner.js";

const root = join(import.meta.dirname, "..", "..");
const list = (value: string | undefined) => value?.split(",").filter((s) => s !== "");
const only = list(process.env.AUTHCHART_CONFORMANCE_ONLY);
const versions = list(process.env.AUTHCHART_CONFORMANCE_VERSION);
const concurrency = Number(process.env.AUTHCHART_CONFORMANCE_CONCURRENCY ?? 2);

let run: ConformanceRun;

const resultsFile = join(root, "test", "conformance-results.txt");

beforeAll(async () => {
  rmSync(resultsFile, { force: true });
  run = await runConformance({
    clientPath: join(root, "examples", "conformance-client"),
    concurrency,
    only,
    versions,
    viaNpx: process.env.AUTHCHART_CONFORMANCE_VIA_NPX === "1",
    log: (line) => console.log(`conformance: ${line}`),
  });
  const table = formatTable(run);
  console.log(table);
  writeFileSync(resultsFile, `${table}\n`);
  if (run.results.every((r) => r.verdict === "PASS")) {
    rmSync(run.outputDir, { recursive: true, force: true });
  } else {
    console.log(`conformance artifacts kept in ${run.outputDir}`);
  }
}, 300_000);

describe("the official MCP conformance suite against examples/conformance-client", () => {
  for (const version of suiteVersions) {
    const notRun = versions !== undefined && !versions.includes(version.version);
    it.skipIf(notRun)(
      `${version.version} lists ${version.expectedCount} client auth scenarios`,
      () => {
        const listing = run.listings.find((l) => l.version.version === version.version);
        expect(listing?.scenarios).toHaveLength(version.expectedCount);
      },
    );
  }

  it("every scenario passes: no FAILURE, no WARNING, no timeout, the expected exit", () => {
    expect(run.results.length).toBeGreaterThan(0);
    const failing = run.results
      .filter((r) => r.verdict !== "PASS")
      .map(
        (r) =>
          `${r.scenario} (${r.version}): failed [${r.failed.join(" ")}] warned [${r.warned.join(" ")}] ${r.notes.join("; ")}`,
      );
    expect(failing).toEqual([]);
  });

  it.skipIf(only !== undefined || versions !== undefined)("runs all 55 scenarios", () => {
    expect(run.results).toHaveLength(
      suiteVersions.reduce((sum, version) => sum + version.expectedCount, 0),
    );
  });
});
