import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Challenge,
  findChallenge,
  parseWwwAuthenticate,
  parseWwwAuthenticateMetered,
  readResourceChallenge,
  serializeChallenges,
} from "../../src/protocol/index.js";

const ch = (scheme: string, params: Record<string, string> = {}, token68?: string): Challenge =>
  token68 === undefined ? { scheme, params } : { scheme, params, token68 };

/** Plain-object view, so comparisons do not depend on the params object's prototype. */
const plain = (cs: readonly Challenge[]): Challenge[] =>
  cs.map((c) => ({ ...c, params: { ...c.params } }));

const PRM = "https://rs.example/.well-known/oauth-protected-resource/mcp";

interface Case {
  readonly id: string;
  readonly name: string;
  readonly header: string | readonly string[];
  readonly expected: readonly Challenge[];
}

/** SPEC section E, the cases that concern parsing (E18 is in metadata-urls.test.ts). */
const cases: readonly Case[] = [
  {
    id: "E1",
    name: "several challenges in one value",
    header: `Basic realm="a", Bearer resource_metadata="${PRM}", scope="x y"`,
    expected: [ch("Basic", { realm: "a" }), ch("Bearer", { resource_metadata: PRM, scope: "x y" })],
  },
  {
    id: "E1",
    name: "RFC 9110 §11.6.1 example: comma + token SP starts a challenge, comma + token= is a param",
    header: 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
    expected: [
      ch("Newauth", { realm: "apps", type: "1", title: 'Login to "apps"' }),
      ch("Basic", { realm: "simple" }),
    ],
  },
  {
    id: "E2",
    name: "several header lines",
    header: ['Basic realm="a"', 'Bearer scope="x"', "DPoP algs=ES256"],
    expected: [
      ch("Basic", { realm: "a" }),
      ch("Bearer", { scope: "x" }),
      ch("DPoP", { algs: "ES256" }),
    ],
  },
  {
    id: "E3",
    name: "scheme case is preserved (lower)",
    header: 'bearer scope="a"',
    expected: [ch("bearer", { scope: "a" })],
  },
  {
    id: "E3",
    name: "scheme case is preserved (upper)",
    header: 'BEARER scope="a"',
    expected: [ch("BEARER", { scope: "a" })],
  },
  {
    id: "E4",
    name: "parameter names are lower-cased",
    header: 'Bearer Resource_Metadata="u", SCOPE="a b"',
    expected: [ch("Bearer", { resource_metadata: "u", scope: "a b" })],
  },
  {
    id: "E5",
    name: 'quoted-pair escapes \\" \\\\ \\x',
    header: 'Bearer error_description="say \\"hi\\" \\\\ \\x"',
    expected: [ch("Bearer", { error_description: 'say "hi" \\ x' })],
  },
  {
    id: "E5",
    name: "a value ending in an escaped backslash",
    header: 'Bearer a="x\\\\", b="c"',
    expected: [ch("Bearer", { a: "x\\", b: "c" })],
  },
  {
    id: "E6",
    name: "commas, = and spaces inside quotes",
    header: `Bearer error_description="a, b=c", resource_metadata="${PRM}?x=1&y=a,b", scope="q"`,
    expected: [
      ch("Bearer", {
        error_description: "a, b=c",
        resource_metadata: `${PRM}?x=1&y=a,b`,
        scope: "q",
      }),
    ],
  },
  {
    id: "E7",
    name: "unquoted token values",
    header: "Bearer error=insufficient_scope, scope=read",
    expected: [ch("Bearer", { error: "insufficient_scope", scope: "read" })],
  },
  {
    id: "E8",
    name: "BWS around = and several SP/HTAB after the scheme",
    header: 'Bearer  \t scope = "a" ,error\t=\tinvalid_token',
    expected: [ch("Bearer", { scope: "a", error: "invalid_token" })],
  },
  {
    id: "E9",
    name: "token68 with padding next to Bearer",
    header: 'Negotiate abc==, Basic dGVzdA==, Bearer scope="x"',
    expected: [
      ch("Negotiate", {}, "abc=="),
      ch("Basic", {}, "dGVzdA=="),
      ch("Bearer", { scope: "x" }),
    ],
  },
  {
    id: "E9",
    name: "token68 without padding, with / and +, and a one-= pad at the end",
    header: "Negotiate a/b+c, Basic dGVzdA=",
    expected: [ch("Negotiate", {}, "a/b+c"), ch("Basic", {}, "dGVzdA=")],
  },
  {
    id: "E9",
    name: "name=value is a parameter, not a token68",
    header: "Basic abc=def",
    expected: [ch("Basic", { abc: "def" })],
  },
  {
    id: "E10",
    name: "bare scheme",
    header: "Bearer",
    expected: [ch("Bearer")],
  },
  {
    id: "E10",
    name: "scheme without parameters followed by another challenge",
    header: 'Negotiate, Bearer scope="x"',
    expected: [ch("Negotiate"), ch("Bearer", { scope: "x" })],
  },
  {
    id: "E11",
    name: "empty list elements",
    header: 'Bearer ,, scope="a" ,',
    expected: [ch("Bearer", { scope: "a" })],
  },
  {
    id: "E11",
    name: "leading empty elements and whitespace",
    header: " , ,\tBearer,,, , DPoP , ",
    expected: [ch("Bearer"), ch("DPoP")],
  },
  {
    id: "E12",
    name: "duplicate parameter: first wins (also across case)",
    header: 'Bearer scope="a", scope="b", SCOPE="c"',
    expected: [ch("Bearer", { scope: "a" })],
  },
  {
    id: "E13",
    name: "unknown parameters are kept for the caller to ignore",
    header: 'Bearer realm="r", max_age=10, algs="ES256", scope="a"',
    expected: [ch("Bearer", { realm: "r", max_age: "10", algs: "ES256", scope: "a" })],
  },
  {
    id: "E14",
    name: "resource_metadata only on the DPoP challenge",
    header: `Bearer error="invalid_token", DPoP algs="ES256", resource_metadata="${PRM}"`,
    expected: [
      ch("Bearer", { error: "invalid_token" }),
      ch("DPoP", { algs: "ES256", resource_metadata: PRM }),
    ],
  },
  {
    id: "E15",
    name: 'scope="" and odd whitespace in scope',
    header: 'Bearer scope="", DPoP scope="  a\t\tb  a "',
    expected: [ch("Bearer", { scope: "" }), ch("DPoP", { scope: "  a\t\tb  a " })],
  },
  {
    id: "E16",
    name: "insufficient_scope without scope",
    header: 'Bearer error="insufficient_scope"',
    expected: [ch("Bearer", { error: "insufficient_scope" })],
  },
  {
    id: "E16",
    name: "empty header",
    header: "",
    expected: [],
  },
  {
    id: "E17",
    name: "unterminated quote: earlier parameters survive, the broken one is dropped",
    header: 'Bearer error="invalid_token", error_description="oops, scope="a"',
    expected: [ch("Bearer", { error: "invalid_token" })],
  },
  {
    id: "E17",
    name: "unterminated quote in the first parameter",
    header: 'Bearer scope="a',
    expected: [ch("Bearer")],
  },
  {
    id: "E17",
    name: "lone = elements are skipped",
    header: 'Bearer =, realm="x", =, ==, scope="y"',
    expected: [ch("Bearer", { realm: "x", scope: "y" })],
  },
  {
    id: "E17",
    name: "only =",
    header: "=",
    expected: [],
  },
  {
    id: "E17",
    name: "obs-text in an unquoted value drops that parameter; quoted obs-text is kept",
    header: 'Bearer realm=\u00e9t\u00e9, scope="a", error_description="caf\u00e9"',
    expected: [ch("Bearer", { scope: "a", error_description: "caf\u00e9" })],
  },
  {
    id: "E17",
    name: "control characters inside a quoted value drop the parameter",
    header: 'Bearer a="x\u0000y", b="\\\u0001", scope="s"',
    expected: [ch("Bearer", { scope: "s" })],
  },
  {
    id: "E17",
    name: "a control character glued to the scheme: no challenge, no stray params",
    header: 'Bearer\u0001 scope="a"',
    expected: [],
  },
  {
    id: "E17",
    name: "junk after a value drops the parameter, the next ones still attach",
    header: 'Bearer realm="x"garbage, error=invalid@token, scope="y"',
    expected: [ch("Bearer", { scope: "y" })],
  },
  {
    id: "E17",
    name: "parameters before any challenge are dropped",
    header: 'scope="a", Bearer',
    expected: [ch("Bearer")],
  },
  {
    id: "E17",
    name: "parameters after a token68 are dropped",
    header: 'Basic abc==, realm="x", Bearer scope="y"',
    expected: [ch("Basic", {}, "abc=="), ch("Bearer", { scope: "y" })],
  },
  {
    id: "E17",
    name: "a __proto__ parameter is an ordinary parameter",
    header: 'Bearer __proto__="x", constructor="y"',
    expected: [ch("Bearer", { ["__proto__"]: "x", constructor: "y" })],
  },
];

describe("parseWwwAuthenticate — SPEC E table", () => {
  for (const c of cases) {
    it(`${c.id}: ${c.name}`, () => {
      expect(plain(parseWwwAuthenticate(c.header))).toEqual(plain(c.expected));
    });
  }

  it("E16: no header at all gives no challenges", () => {
    expect(parseWwwAuthenticate(null)).toEqual([]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate([])).toEqual([]);
  });

  it("E2: several lines parse the same as the lines joined with ', '", () => {
    const lines = ['Basic realm="a"', 'Bearer scope="x", error=invalid_token', "Negotiate abc=="];
    expect(plain(parseWwwAuthenticate(lines))).toEqual(
      plain(parseWwwAuthenticate(lines.join(", "))),
    );
  });

  it("E3: findChallenge compares schemes case-insensitively", () => {
    const cs = parseWwwAuthenticate('Basic realm="a", BEARER scope="x", bearer scope="y"');
    expect(findChallenge(cs, "bearer")?.params.scope).toBe("x");
    expect(findChallenge(cs, "Basic")?.scheme).toBe("Basic");
    expect(findChallenge(cs, "DPoP")).toBeUndefined();
  });
});

describe("readResourceChallenge (SPEC G3, D2, S4)", () => {
  it("E1, E13: reads the Bearer challenge and ignores unknown params and other schemes", () => {
    expect(
      readResourceChallenge(
        `Basic realm="a", Bearer realm="r", resource_metadata="${PRM}", scope="x y", max_age=5`,
      ),
    ).toEqual({ scheme: "Bearer", resourceMetadata: PRM, scope: ["x", "y"] });
  });

  it("E3: lower-case scheme is still Bearer", () => {
    expect(readResourceChallenge("bearer error=invalid_token")).toEqual({
      scheme: "Bearer",
      error: "invalid_token",
    });
  });

  it("S4: 403 insufficient_scope with scope and description", () => {
    expect(
      readResourceChallenge(
        'Bearer error="insufficient_scope", scope="files:read files:write", error_description="need write"',
      ),
    ).toEqual({
      scheme: "Bearer",
      error: "insufficient_scope",
      errorDescription: "need write",
      scope: ["files:read", "files:write"],
    });
  });

  it("E14: resource_metadata only on DPoP is still returned with the Bearer challenge", () => {
    expect(
      readResourceChallenge(
        `Bearer error="invalid_token", DPoP algs="ES256", resource_metadata="${PRM}"`,
      ),
    ).toEqual({ scheme: "Bearer", error: "invalid_token", resourceMetadata: PRM });
  });

  it("E14: a DPoP-only header gives a DPoP challenge", () => {
    expect(readResourceChallenge(`DPoP algs="ES256 PS256", resource_metadata="${PRM}"`)).toEqual({
      scheme: "DPoP",
      resourceMetadata: PRM,
    });
  });

  it("E14: the Bearer challenge's own resource_metadata wins over DPoP's", () => {
    expect(
      readResourceChallenge(
        `DPoP resource_metadata="https://d.example", Bearer resource_metadata="${PRM}"`,
      )?.resourceMetadata,
    ).toBe(PRM);
  });

  it('E15: scope="" gives [] and odd whitespace is tolerated', () => {
    expect(readResourceChallenge('Bearer scope=""')?.scope).toEqual([]);
    expect(readResourceChallenge('Bearer scope="  a\t\tb  a "')?.scope).toEqual(["a", "b"]);
  });

  it("E16: insufficient_scope without scope has no scope key (S3 fallback)", () => {
    const r = readResourceChallenge('Bearer error="insufficient_scope"');
    expect(r).toEqual({ scheme: "Bearer", error: "insufficient_scope" });
    expect(r !== undefined && "scope" in r).toBe(false);
  });

  it("E16: no header, or no Bearer/DPoP challenge, gives undefined (probe, D3)", () => {
    expect(readResourceChallenge(null)).toBeUndefined();
    expect(readResourceChallenge(undefined)).toBeUndefined();
    expect(readResourceChallenge("")).toBeUndefined();
    expect(readResourceChallenge('Basic realm="x", Negotiate abc==')).toBeUndefined();
  });

  it("E2: reads across several header lines", () => {
    expect(readResourceChallenge(['Basic realm="a"', 'Bearer scope="x"'])).toEqual({
      scheme: "Bearer",
      scope: ["x"],
    });
  });
});

describe("serializeChallenges", () => {
  it("writes quoted-string values with escapes (RFC 9110 §5.6.4)", () => {
    expect(
      serializeChallenges([
        ch("Bearer", { error: "insufficient_scope", error_description: 'a "b" \\ c, d=e' }),
        ch("Negotiate", {}, "abc=="),
        ch("Basic"),
      ]),
    ).toBe(
      'Bearer error="insufficient_scope", error_description="a \\"b\\" \\\\ c, d=e", Negotiate abc==, Basic',
    );
  });

  it("leaves out what a field value cannot carry", () => {
    expect(
      serializeChallenges([
        ch("Bad Scheme", { a: "b" }),
        ch("Bearer", { "bad name": "x", ok: "line\r\nbreak" }),
        ch("Basic", { realm: "r" }, "not a token68!"),
      ]),
    ).toBe('Bearer ok="linebreak", Basic realm="r"');
  });
});

// --- properties ------------------------------------------------------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = (chars: string) =>
  fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 12 });
const scheme = token(TCHARS);
const paramName = token(TCHARS.replace(/[A-Z]/g, ""));
const token68 = fc
  .tuple(
    fc.string({
      unit: fc.constantFrom(
        ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/",
      ),
      minLength: 1,
      maxLength: 20,
    }),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([body, pad]) => body + "=".repeat(pad));
const value = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: fc.constantFrom('"', "\\", ",", "=", " ", "\t", "a", ";", "\u00e9") }),
);
const challenge: fc.Arbitrary<Challenge> = fc.oneof(
  fc
    .record({
      scheme,
      params: fc.dictionary(paramName, value, { maxKeys: 5, noNullPrototype: true }),
    })
    .map(({ scheme, params }) => ch(scheme, params)),
  fc.record({ scheme, token68 }).map(({ scheme, token68 }) => ch(scheme, {}, token68)),
);

/** Junk built from the characters that matter to the grammar. */
const junk = fc.string({
  unit: fc.constantFrom(...' \t,="\\abB/\u00e9\u0000\r\n@;('),
  maxLength: 200,
});
const anyHeader = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  junk,
  fc.stringMatching(/^(Bearer|[a-z]{1,3}|[=,"\\ ]{1,4})( ?[a-z]{0,3}=?"?[^"]{0,5}"?,?){0,6}$/),
);

describe("properties", () => {
  it("E1-E9: serialize then parse returns the challenges (round trip)", () => {
    fc.assert(
      fc.property(fc.array(challenge, { maxLength: 6 }), (cs) => {
        expect(plain(parseWwwAuthenticate(serializeChallenges(cs)))).toEqual(plain(cs));
      }),
      { numRuns: 500 },
    );
  });

  it("E17: arbitrary input never throws and returns well-formed challenges", () => {
    fc.assert(
      fc.property(fc.oneof(anyHeader, fc.array(anyHeader, { maxLength: 4 })), (header) => {
        const cs = parseWwwAuthenticate(header);
        expect(Array.isArray(cs)).toBe(true);
        for (const c of cs) {
          expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
          for (const [name, v] of Object.entries(c.params)) {
            expect(name).toBe(name.toLowerCase());
            expect(typeof v).toBe("string");
          }
          if (c.token68 !== undefined) expect(Object.keys(c.params)).toHaveLength(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("E17: non-string input does not throw", () => {
    for (const bad of [42, {}, [1, null, 'Bearer scope="a"'], Symbol.iterator]) {
      expect(() => parseWwwAuthenticate(bad as unknown as string)).not.toThrow();
    }
    expect(plain(parseWwwAuthenticate([1, 'Bearer scope="a"'] as unknown as string[]))).toEqual([
      ch("Bearer", { scope: "a" }),
    ]);
  });

  it("E17: parsing is deterministic and re-serializing a parse is a fixed point", () => {
    fc.assert(
      fc.property(anyHeader, (header) => {
        const once = parseWwwAuthenticate(header);
        expect(plain(parseWwwAuthenticate(header))).toEqual(plain(once));
        const again = parseWwwAuthenticate(serializeChallenges(once));
        expect(plain(parseWwwAuthenticate(serializeChallenges(again)))).toEqual(plain(again));
      }),
      { numRuns: 500 },
    );
  });

  it("E17: the scanner does linear work (counted steps, no timing)", () => {
    fc.assert(
      fc.property(anyHeader, (header) => {
        const { steps } = parseWwwAuthenticateMetered(header);
        expect(steps).toBeLessThanOrEqual(5 * (header.length + 1));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("E17: huge adversarial headers (100 KB)", () => {
  const adversarial: ReadonlyArray<
    readonly [string, (n: number) => string, readonly Challenge[] | undefined]
  > = [
    [
      "unterminated quote full of backslashes",
      (n) => `Bearer a="${"\\".repeat(n)}`,
      [ch("Bearer")],
    ],
    ["commas only", (n) => ",".repeat(n), []],
    ["= runs", (n) => `Bearer ${"=".repeat(n)}`, [ch("Bearer")]],
    ["quotes only", (n) => '"'.repeat(n), []],
    [
      "many params",
      (n) => `Bearer ${"a=b, ".repeat(n / 6)}scope="s"`,
      [ch("Bearer", { a: "b", scope: "s" })],
    ],
    ["many schemes", (n) => "a, ".repeat(n / 3), undefined],
    ["long token68", (n) => `Basic ${"A".repeat(n)}==`, undefined],
    ["name= runs", (n) => `Bearer ${"a=".repeat(n / 2)}`, [ch("Bearer")]],
    ["escaped quotes", (n) => `Bearer a="${'\\"'.repeat(n / 2)}", scope="s"`, undefined],
    ["spaces then junk", (n) => `Bearer${" ".repeat(n)}@`, [ch("Bearer")]],
  ];

  for (const [name, make, expected] of adversarial) {
    it(`${name}: completes, returns an array, work grows linearly`, () => {
      const small = make(50_000);
      const big = make(100_000);
      const r1 = parseWwwAuthenticateMetered(small);
      const r2 = parseWwwAuthenticateMetered(big);
      expect(Array.isArray(r2.challenges)).toBe(true);
      if (expected !== undefined) expect(plain(r2.challenges)).toEqual(plain(expected));
      expect(r2.steps).toBeLessThanOrEqual(5 * (big.length + 1));
      // Doubling the input at most (about) doubles the work.
      expect(r2.steps).toBeLessThanOrEqual(2.1 * r1.steps + 100);
    });
  }

  it("many schemes: every element is a challenge", () => {
    expect(parseWwwAuthenticate("a, ".repeat(33_333))).toHaveLength(33_333);
  });

  it("escaped quotes: the value is unescaped in full", () => {
    const r = parseWwwAuthenticate(`Bearer a="${'\\"'.repeat(50_000)}", scope="s"`);
    expect(r[0]?.params.a).toBe('"'.repeat(50_000));
    expect(r[0]?.params.scope).toBe("s");
  });
});

describe("robustness of the other exports", () => {
  it("serializeChallenges and findChallenge never throw on values outside the types", () => {
    const junk = [null, 1, { scheme: 1 }, { scheme: "Bearer", params: null, token68: 7 }];
    expect(serializeChallenges(junk as unknown as Challenge[])).toBe("Bearer");
    expect(serializeChallenges(null as unknown as Challenge[])).toBe("");
    expect(findChallenge(null as unknown as Challenge[], "Bearer")).toBeUndefined();
    expect(findChallenge([ch("Bearer")], null as unknown as string)).toBeUndefined();
  });
});
