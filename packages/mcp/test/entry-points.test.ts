/**
 * Both SDK generations are optional peers: the root export must load without
 * @modelcontextprotocol/client installed, and `/v2` without @modelcontextprotocol/sdk. Checked on
 * the import graph of each entry's sources, followed through relative imports.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

const src = new URL("../src/", import.meta.url);

/** Every package an entry module reaches, through its relative imports. */
const packagesReached = async (entry: string): Promise<Set<string>> => {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = await readFile(new URL(file, src), "utf8");
    for (const [, specifier] of text.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)) {
      if (specifier === undefined) continue;
      if (specifier.startsWith("./")) await visit(specifier.slice(2).replace(/\.js$/, ".ts"));
      else packages.add(specifier);
    }
  };
  await visit(entry);
  return packages;
};

describe("entry points", () => {
  it("the root reaches @modelcontextprotocol/sdk and never @modelcontextprotocol/client", async () => {
    const reached = [...(await packagesReached("index.ts"))];
    expect(reached.some((p) => p.startsWith("@modelcontextprotocol/sdk/"))).toBe(true);
    expect(reached.filter((p) => p.startsWith("@modelcontextprotocol/client"))).toEqual([]);
  });

  it("/v2 reaches @modelcontextprotocol/client and never @modelcontextprotocol/sdk", async () => {
    const reached = [...(await packagesReached("v2.ts"))];
    expect(reached).toContain("@modelcontextprotocol/client");
    expect(reached.filter((p) => p.startsWith("@modelcontextprotocol/sdk"))).toEqual([]);
  });
});
