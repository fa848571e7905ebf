/**
 * What a session persists of its context: toPersisted writes the parts samePersistedParts compares,
 * and a context that learned nothing (persistsNothing) would persist its server URL alone.
 */
import { describe, expect, it } from "vitest";
import type { AuthContext } from "../../src/machine/model.js";
import { persistsNothing, samePersistedParts, toPersisted } from "../../src/machine/persistence.js";

const base = { serverUrl: "https://mcp.example/mcp" } as AuthContext;
const token = {
  resource: "https://mcp.example/mcp",
  issuer: "https://as.example",
  clientId: "c1",
  version: 1,
  scopes: ["mcp:read"],
  hasRefreshToken: false,
  obtainedAt: 1,
  obtainedBy: "authorization",
} as AuthContext["token"];

describe("persistence of the context", () => {
  it("the parts compared are the parts written: any other field may change without a save", () => {
    const learned = { ...base, token } as AuthContext;
    const persisted = Object.keys(toPersisted(learned, 0)).filter(
      (k) => k !== "format" && k !== "savedAt",
    );
    for (const part of persisted) {
      const changed = { ...learned, [part]: Symbol(part) } as unknown as AuthContext;
      expect(samePersistedParts(learned, changed), part).toBe(false);
    }
    const other = { ...learned, challenge: { status: 401 } } as AuthContext;
    expect(samePersistedParts(learned, other)).toBe(true);
  });

  it("nothing learned: the server URL alone; any learned part counts", () => {
    expect(persistsNothing(base)).toBe(true);
    expect(persistsNothing({ ...base, token } as AuthContext)).toBe(false);
    expect(persistsNothing({ ...base, client: { kind: "dynamic" } } as AuthContext)).toBe(false);
  });
});
