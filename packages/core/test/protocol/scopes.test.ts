import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatScope,
  includesAll,
  missingScopes,
  parseScope,
  sameScopes,
  selectScopes,
  stepUpScopes,
  unionScopes,
} from "../../src/protocol/index.js";

describe("parseScope / formatScope (RFC 6749 §3.3, SPEC S7)", () => {
  const table: ReadonlyArray<readonly [string, string | null | undefined, readonly string[]]> = [
    ["S7: single SP", "read write", ["read", "write"]],
    ['S7: "" is none', "", []],
    ["S7: null is none", null, []],
    ["S7: undefined is none", undefined, []],
    ["E15: only whitespace is none", " \t  ", []],
    ["E15: HTAB and runs of spaces", "  a\t\tb  c ", ["a", "b", "c"]],
    ["S7: duplicates removed, first-seen order kept", "b a b c a", ["b", "a", "c"]],
    ["S7: case-sensitive", "Read read READ", ["Read", "read", "READ"]],
    [
      "S7: URI-shaped scopes kept verbatim",
      "https://x.example/a mcp:tools",
      ["https://x.example/a", "mcp:tools"],
    ],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => expect(parseScope(input)).toEqual(expected));
  }

  it("S1: formatScope omits the parameter for an empty set", () => {
    expect(formatScope([])).toBeUndefined();
    expect(formatScope(["", " "])).toBeUndefined();
  });

  it("S7: formatScope joins with one SP and dedupes", () => {
    expect(formatScope(["a", "b", "a"])).toBe("a b");
  });

  it("S7: property — formatScope ∘ parseScope is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", "C", ":", " ", "\t", "/") }), (s) => {
        const once = formatScope(parseScope(s));
        expect(formatScope(parseScope(once))).toBe(once);
        expect(parseScope(once)).toEqual(parseScope(s));
      }),
    );
  });
});

const scopeToken = fc.string({
  unit: fc.constantFrom(..."abcXYZ:._-/0123"),
  minLength: 1,
  maxLength: 6,
});
const scopeSet = fc.array(scopeToken, { maxLength: 8 });

describe("set algebra (SPEC S5, S7)", () => {
  it("unionScopes is stable (order of first appearance)", () => {
    expect(unionScopes(["b", "a"], ["c", "a"], ["d", "b"])).toEqual(["b", "a", "c", "d"]);
    expect(unionScopes()).toEqual([]);
  });

  it("missingScopes / includesAll / sameScopes", () => {
    expect(missingScopes(["a", "b", "c"], ["b"])).toEqual(["a", "c"]);
    expect(includesAll(["a", "b"], ["b"])).toBe(true);
    expect(includesAll(["a"], ["A"])).toBe(false);
    expect(includesAll(["a"], [])).toBe(true);
    expect(sameScopes(["a", "b", "a"], ["b", "a"])).toBe(true);
    expect(sameScopes(["a"], ["a", "b"])).toBe(false);
  });

  it("S5: stepUpScopes is previous ∪ challenged, previous first (SEP-2350)", () => {
    expect(stepUpScopes(["files:read"], ["files:write"])).toEqual(["files:read", "files:write"]);
    expect(stepUpScopes(["a", "b"], ["b"])).toEqual(["a", "b"]);
  });

  it("property — union is a superset of every input and has no duplicates", () => {
    fc.assert(
      fc.property(fc.array(scopeSet, { maxLength: 4 }), (sets) => {
        const u = unionScopes(...sets);
        expect(new Set(u).size).toBe(u.length);
        for (const s of sets) expect(includesAll(u, s)).toBe(true);
        expect(u.every((x) => sets.some((s) => s.includes(x)))).toBe(true);
      }),
    );
  });

  it("property — missingScopes is exactly required \\ granted", () => {
    fc.assert(
      fc.property(scopeSet, scopeSet, (required, granted) => {
        const m = missingScopes(required, granted);
        expect(m.every((x) => required.includes(x) && !granted.includes(x))).toBe(true);
        expect(includesAll(unionScopes(granted, m), required)).toBe(true);
        expect(sameScopes(unionScopes(granted, m), unionScopes(granted, required))).toBe(true);
      }),
    );
  });
});

describe("selectScopes (SPEC S1–S3, S7, T10)", () => {
  type Input = Parameters<typeof selectScopes>[0];
  const table: ReadonlyArray<readonly [string, Input, ReturnType<typeof selectScopes>]> = [
    [
      "S1: configured ∪ challenge, configured first",
      { configured: ["app", "shared"], challenged: ["shared", "tool:x"] },
      {
        scopes: ["app", "shared", "tool:x"],
        source: "configured+challenge",
        offlineAccessAdded: false,
      },
    ],
    [
      "S1: configured only",
      { configured: ["app"], resourceScopesSupported: ["x", "y"] },
      { scopes: ["app"], source: "configured", offlineAccessAdded: false },
    ],
    [
      "S1.1: the challenge's scope",
      { challenged: ["files:read"], resourceScopesSupported: ["files:read", "files:write"] },
      { scopes: ["files:read"], source: "challenge", offlineAccessAdded: false },
    ],
    [
      "S1.2/S3: no challenge scope → PRM scopes_supported",
      { resourceScopesSupported: ["a", "b"] },
      { scopes: ["a", "b"], source: "scopes_supported", offlineAccessAdded: false },
    ],
    [
      'S3/S7: scope="" counts as no challenge scope',
      { challenged: [], resourceScopesSupported: ["a"] },
      { scopes: ["a"], source: "scopes_supported", offlineAccessAdded: false },
    ],
    [
      'S3/S7: scope="" with configured is "configured"',
      { configured: ["c"], challenged: [] },
      { scopes: ["c"], source: "configured", offlineAccessAdded: false },
    ],
    ["S1.3: nothing → omit scope", {}, { scopes: [], source: "none", offlineAccessAdded: false }],
    [
      "S2: challenge is authoritative even when not in scopes_supported",
      { challenged: ["secret"], resourceScopesSupported: ["a"] },
      { scopes: ["secret"], source: "challenge", offlineAccessAdded: false },
    ],
    [
      "T10: offline_access appended when the AS lists it",
      { challenged: ["a"], authServerScopesSupported: ["a", "offline_access"] },
      { scopes: ["a", "offline_access"], source: "challenge", offlineAccessAdded: true },
    ],
    [
      "T10: not appended when the AS does not list it",
      { challenged: ["a"], authServerScopesSupported: ["a"] },
      { scopes: ["a"], source: "challenge", offlineAccessAdded: false },
    ],
    [
      "T10: not appended when disabled",
      { challenged: ["a"], authServerScopesSupported: ["offline_access"], offlineAccess: false },
      { scopes: ["a"], source: "challenge", offlineAccessAdded: false },
    ],
    [
      "T10: not duplicated when already present",
      { configured: ["offline_access", "a"], authServerScopesSupported: ["offline_access"] },
      { scopes: ["offline_access", "a"], source: "configured", offlineAccessAdded: false },
    ],
    [
      "T10 + S1.3: never turns an omitted scope into scope=offline_access",
      { authServerScopesSupported: ["offline_access"], offlineAccess: true },
      { scopes: [], source: "none", offlineAccessAdded: false },
    ],
    [
      "S7: duplicates in the inputs are removed",
      { configured: ["a", "a"], challenged: ["b", "b", "a"] },
      { scopes: ["a", "b"], source: "configured+challenge", offlineAccessAdded: false },
    ],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => expect(selectScopes(input)).toEqual(expected));
  }

  it("S1, S2: property — never drops configured or challenged scopes", () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            configured: fc.option(scopeSet, { nil: undefined }),
            challenged: fc.option(scopeSet, { nil: undefined }),
            resourceScopesSupported: fc.option(scopeSet, { nil: undefined }),
            authServerScopesSupported: fc.option(
              fc.array(fc.oneof(scopeToken, fc.constant("offline_access"))),
              { nil: undefined },
            ),
            offlineAccess: fc.option(fc.boolean(), { nil: undefined }),
          },
          { requiredKeys: [] },
        ),
        (input) => {
          const r = selectScopes(input);
          expect(includesAll(r.scopes, input.configured ?? [])).toBe(true);
          expect(includesAll(r.scopes, input.challenged ?? [])).toBe(true);
          expect(new Set(r.scopes).size).toBe(r.scopes.length);
          if (r.source === "none") expect(r.scopes).toEqual([]);
          if (r.offlineAccessAdded) expect(r.scopes.at(-1)).toBe("offline_access");
        },
      ),
    );
  });
});

describe("robustness", () => {
  it("never throws on values outside the types", () => {
    const junk = [null, undefined, 42, {}, [1, null, "a"]] as unknown as string[][];
    for (const j of junk) {
      expect(() => parseScope(j as unknown as string)).not.toThrow();
      expect(() => formatScope(j)).not.toThrow();
      expect(() => unionScopes(j, ["a"])).not.toThrow();
      expect(() => selectScopes({ configured: j, challenged: j })).not.toThrow();
    }
    expect(formatScope([1, null, "a"] as unknown as string[])).toBe("a");
  });
});
