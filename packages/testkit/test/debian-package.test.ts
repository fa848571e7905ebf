/**
 * The tests' own installs of Debian programs: a present program is used as it is; without apt the
 * tests are skipped with a reason — and in CI that is a failure, never a silent skip.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureDebianProgram } from "../src/debian-package.js";

const saved = { PATH: process.env.PATH, CI: process.env.CI };
afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.CI === undefined) delete process.env.CI;
  else process.env.CI = saved.CI;
});

const program = (executable: string) => ({
  packageName: "authchart-none",
  executable,
  tests: "the example tests",
  logPrefix: "example setup",
});

describe("ensureDebianProgram", () => {
  it("uses a program that is there", async () => {
    expect(await ensureDebianProgram(program(process.execPath))).toEqual({
      available: true,
      executablePath: process.execPath,
    });
  });

  it("without apt-get: unavailable with a reason outside CI, a failure in CI", async () => {
    const empty = await mkdtemp(join(tmpdir(), "authchart-no-apt-"));
    try {
      process.env.PATH = empty;
      delete process.env.CI;
      const outside = await ensureDebianProgram(program(join(empty, "missing-a")));
      expect(outside).toMatchObject({ available: false });
      expect(outside.available === false && outside.reason).toContain("apt-get is not available");
      process.env.CI = "true";
      await expect(ensureDebianProgram(program(join(empty, "missing-b")))).rejects.toThrow(
        "CI must run the example tests",
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
