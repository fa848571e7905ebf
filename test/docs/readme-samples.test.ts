/**
 * The READMEs' code samples are real: every ```ts block of the root README and of each package's
 * README is written out as a module of its own and typechecked with the project's compiler
 * options against the packages' built declarations — the types users install (the test runs after
 * the build). A sample that drifts from the API fails here.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const readmes = [
  "README.md",
  ...readdirSync(path.join(root, "packages")).map((dir) => path.join("packages", dir, "README.md")),
].filter((file) => {
  try {
    readFileSync(path.join(root, file));
    return true;
  } catch {
    return false;
  }
});

interface Sample {
  readonly readme: string;
  readonly line: number;
  readonly code: string;
}

/** The ```ts (or ```typescript) fenced blocks of a Markdown file, with their first line. */
export const samplesOf = (readme: string, text: string): Sample[] => {
  const samples: Sample[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i] ?? "")) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? "")) end++;
    samples.push({ readme, line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return samples;
};

const samples = readmes.flatMap((readme) =>
  samplesOf(readme, readFileSync(path.join(root, readme), "utf8")),
);

// Inside the test workspace (an ES module package), so the samples resolve the workspace's
// packages exactly as a user's project resolves installed ones.
const directory = path.join(root, "test", ".readme-samples");
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const fileOf = (sample: Sample) =>
  path.join(directory, `${sample.readme.replaceAll(/[^A-Za-z0-9]+/g, "_")}_L${sample.line}.ts`);

describe("the README samples", () => {
  it("there are samples in the root README and in each package's README", () => {
    expect(samples.filter((sample) => sample.readme === "README.md").length).toBeGreaterThan(2);
    expect(new Set(samples.map((sample) => sample.readme)).size).toBeGreaterThan(1);
  });

  it("typecheck against the packages' declarations", () => {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    const files = samples.map((sample) => {
      const file = fileOf(sample);
      // Each sample is a module of its own (top-level await, no clash between samples' names).
      writeFileSync(file, `${sample.code}\nexport {};\n`);
      return file;
    });
    const base = ts.getParsedCommandLineOfConfigFile(
      path.join(root, "test", "tsconfig.test.json"),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
    );
    if (base === undefined) throw new Error("cannot read test/tsconfig.test.json");
    const program = ts.createProgram(files, {
      ...base.options,
      noEmit: true,
      noUnusedLocals: false,
      rootDir: root,
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter(
        (diagnostic) => diagnostic.file !== undefined && files.includes(diagnostic.file.fileName),
      )
      .map((diagnostic) => {
        const file = diagnostic.file as ts.SourceFile;
        const sample = samples[files.indexOf(file.fileName)] as Sample;
        const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        return `${sample.readme}:${sample.line + line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`;
      });
    expect(problems).toEqual([]);
  });
});
