/**
 * The packages as users install them: what `npm pack` would publish for each package under
 * packages/ — its README and LICENSE, the built entry points its `exports`, `types` and `bin`
 * name, and nothing else that does not belong in a tarball (TypeScript build info, tests).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const run = promisify(execFile);

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly version: string;
  readonly description?: string;
  readonly license?: string;
  readonly types?: string;
  readonly engines?: { readonly node?: string };
  readonly repository?: {
    readonly type?: string;
    readonly url?: string;
    readonly directory?: string;
  };
  readonly bin?: Readonly<Record<string, string>>;
  readonly exports?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly files?: readonly string[];
}

const packages = readdirSync(path.join(root, "packages"))
  .map((dir) => ({ dir, file: path.join(root, "packages", dir, "package.json") }))
  .filter(({ file }) => existsSync(file))
  .map(({ dir, file }) => ({ dir, manifest: JSON.parse(readFileSync(file, "utf8")) as Manifest }))
  .filter(({ manifest }) => manifest.private !== true);

/** The files `npm pack` would put in the tarball, relative to the package. */
const packed = async (dir: string): Promise<readonly string[]> => {
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: path.join(root, "packages", dir),
    maxBuffer: 16 * 1024 * 1024,
  });
  const [report] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  return report.files.map((entry) => entry.path);
};

const relative = (target: string) => target.replace(/^\.\//, "");

describe("the repository", () => {
  it("has a LICENSE and a CHANGELOG at the root", () => {
    expect(readFileSync(path.join(root, "LICENSE"), "utf8")).toMatch(/^MIT License/);
    expect(readFileSync(path.join(root, "CHANGELOG.md"), "utf8")).toMatch(/## \[Unreleased\]/);
  });

  it("publishes the six packages", () => {
    expect(packages.map(({ manifest }) => manifest.name).sort()).toEqual(
      [
        "@authchart/core",
        "@authchart/mcp",
        "@authchart/node",
        "@authchart/redis",
        "@authchart/testkit",
        "authchart",
      ].sort(),
    );
  });
});

describe.each(packages)("$manifest.name", ({ dir, manifest }) => {
  it("names what a registry shows: description, MIT license, repository, engines", () => {
    expect(manifest.description?.length).toBeGreaterThan(20);
    expect(manifest.license).toBe("MIT");
    expect(manifest.repository).toMatchObject({ type: "git", directory: `packages/${dir}` });
    expect(manifest.engines?.node).toBe(">=20.19");
    expect(manifest.types).toBe("./dist/index.d.ts");
    expect(manifest.exports?.["."]).toMatchObject({
      types: "./dist/index.d.ts",
      default: "./dist/index.js",
    });
  });

  it("has its own README and the root's LICENSE", () => {
    const readme = readFileSync(path.join(root, "packages", dir, "README.md"), "utf8");
    expect(readme).toContain(`# ${manifest.name}`);
    expect(readFileSync(path.join(root, "packages", dir, "LICENSE"), "utf8")).toBe(
      readFileSync(path.join(root, "LICENSE"), "utf8"),
    );
  });

  it("packs its README, LICENSE and every entry point, and no build info or tests", async () => {
    const files = await packed(dir);
    expect(files).toEqual(expect.arrayContaining(["README.md", "LICENSE", "package.json"]));
    const targets = [
      ...Object.values(manifest.exports ?? {}).flatMap((conditions) =>
        Object.entries(conditions)
          .filter(([condition]) => condition === "types" || condition === "default")
          .map(([, target]) => target),
      ),
      ...Object.values(manifest.bin ?? {}),
    ].map(relative);
    expect(targets.length).toBeGreaterThan(0);
    expect(files).toEqual(expect.arrayContaining(targets));
    expect(files.filter((file) => file.endsWith(".tsbuildinfo"))).toEqual([]);
    expect(files.filter((file) => /(^|\/)test\/|\.test\.[cm]?[jt]s$/.test(file))).toEqual([]);
  });

  it.runIf(manifest.bin !== undefined)("has executable entry points that Node runs", () => {
    for (const target of Object.values(manifest.bin ?? {})) {
      const text = readFileSync(path.join(root, "packages", dir, target), "utf8");
      expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true);
    }
  });
});

describe("@authchart/core's entry points", () => {
  it("the root is curated: the session, errors, services and statechart, not the machinery", async () => {
    const root = await import("@authchart/core");
    for (const name of [
      "createSession",
      "AuthSession",
      "authMachine",
      "InteractionRequired",
      "builtInProfiles",
      "resolveQuirks",
      "defaultUserAgent",
      "inspectorOptions",
    ]) {
      expect(root).toHaveProperty(name);
    }
    // Decisions, step actors, persistence, wire schemas and step programs are not the root's.
    for (const name of [
      "provideSteps",
      "challengeVerdict",
      "PersistedSession",
      "TokenResponse",
      "discoverResource",
      "scrubText",
      "probeServer",
      "judgePitfalls",
      "adjustAuthorizationRequest",
      "createRecorder",
      "readTrace",
    ]) {
      expect(root).not.toHaveProperty(name);
    }
  });

  it("the steps and the internals have their own entry points; internals include the root", async () => {
    const root = await import("@authchart/core");
    const steps = await import("@authchart/core/steps");
    const internals = await import("@authchart/core/internals");
    expect(steps).toHaveProperty("discoverResource");
    expect(steps).toHaveProperty("exchangeCode");
    expect(internals).toHaveProperty("PersistedSession");
    expect(internals).toHaveProperty("provideSteps");
    expect(Object.keys(root).filter((name) => !(name in internals))).toEqual([]);
  });

  it("the recorder has its own entry point (@authchart/core/record); the SVG chart is the diagram's", async () => {
    const record = await import("@authchart/core/record");
    for (const name of ["createRecorder", "readTrace", "timelineOf", "pathsOf", "TraceLine"]) {
      expect(record).toHaveProperty(name);
    }
    expect(await import("@authchart/core/diagram")).toHaveProperty("toSvg");
    expect(await import("@authchart/node")).toHaveProperty("openTraceFile");
  });

  it("the probe's checks have their own entry point (@authchart/core/check)", async () => {
    const check = await import("@authchart/core/check");
    for (const name of ["probeServer", "collectAdvertised", "judgePitfalls", "reportProbe"]) {
      expect(check).toHaveProperty(name);
    }
  });
});
