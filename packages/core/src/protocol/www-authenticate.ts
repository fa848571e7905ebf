/**
 * `WWW-Authenticate` parsing and serialization (RFC 9110 §11.6.1, §11.1–§11.3, §5.6; RFC 6750 §3),
 * and the reading of the resource server's challenge the MCP client acts on (RFC 9728 §5.1; MCP
 * "Protected Resource Metadata Discovery Requirements", "Step-Up Authorization Flow").
 *
 * Decision — own scanner, not oauth4webapi's `parseWwwAuthenticateChallenges` (3.8.8, read in
 * build/index.js). It fails the cases of test/protocol/www-authenticate.test.ts and the property
 * tests:
 * - it is not exported: only reachable as `WWWAuthenticateChallengeError.cause`, built from a
 *   `Response`, so it cannot take a header value or several header lines at all (RFC 9110 §5.3);
 * - a duplicate parameter (invalid, RFC 9110 §11.2) is last-wins (plain object assignment); this
 *   project documents first-wins; and a `__proto__` parameter is silently lost (prototype setter);
 * - one malformed element (unterminated quote, lone `=`, obs-text in an unquoted value) makes
 *   it return `undefined` for the WHOLE header, dropping well-formed challenges before it;
 * - the scheme is lower-cased (this API preserves it as written);
 * - it is not linear: every parameter re-matches and copies the remaining input with `(.*)`, so a
 *   header of many parameters costs O(n²) (measured: doubling 10k→20k params ≈ 5× the time).
 *
 * The scanner below is a single forward pass with bounded look-ahead: no regular expressions, no
 * backtracking, every character is inspected a constant number of times (the step counter exposed
 * by {@link parseWwwAuthenticateMetered} lets tests check this without timing).
 *
 * Recovery rules for malformed input, all deterministic:
 * - The field value is a comma-separated list (§5.6.1); empty elements are skipped (§5.6.1.2).
 * - An element that is not exactly a challenge start (`scheme [1*SP (token68 / auth-param)]`),
 *   an `auth-param` or (right after a scheme) a `token68` is junk: it is skipped up to the next
 *   comma outside a quoted string. Junk never opens or closes a challenge, so the parameters after
 *   it still belong to the challenge before it.
 * - A parameter is kept only when its value is a well-formed token or quoted-string followed by
 *   OWS and a comma or the end: a truncated value is never reported. Quoted values containing
 *   control characters (other than HTAB) are dropped; obs-text and non-ASCII are kept.
 * - An unterminated quoted string runs to the end of the input; its parameter is dropped.
 * - Parameters before any challenge, or after a `token68` challenge, are dropped.
 * - `scheme 1*SP x` where `x` is neither a token68 nor an auth-param (`Bearer =`, `Bearer @`) is
 *   still a challenge (no parameters); `x` is junk.
 * - `params` objects have a null prototype, so `__proto__` or `constructor` are ordinary names.
 *
 * Pure: no I/O, never throws.
 */
import { parseScope, type Scopes } from "./scopes.js";

/** One parsed challenge (RFC 9110 §11.3 `challenge`). */
export interface Challenge {
  /** As written (case preserved); compare case-insensitively (RFC 9110 §11.1). */
  readonly scheme: string;
  /** Present when the challenge carries a token68 instead of parameters (RFC 9110 §11.2). */
  readonly token68?: string;
  /**
   * Parameter names lower-cased (they are case-insensitive, RFC 9110 §11.2); values unquoted and
   * unescaped. A duplicate parameter is invalid (§11.2); the FIRST occurrence wins.
   * Unknown parameters are kept; callers ignore what they do not know.
   */
  readonly params: Readonly<Record<string, string>>;
}

const END = -1;
const HTAB = 0x09;
const SP = 0x20;
const DQUOTE = 0x22;
const COMMA = 0x2c;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;

/** tchar (RFC 9110 §5.6.2): `!#$%&'*+-.^_\`|~`, DIGIT, ALPHA. */
const TCHAR = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~0123456789") TCHAR[ch.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) {
  TCHAR[c] = 1;
  TCHAR[c + 0x20] = 1;
}
/** token68 characters before the `=` padding (RFC 9110 §11.2): ALPHA, DIGIT, `-._~+/`. */
const T68CHAR = new Uint8Array(128);
for (const ch of "-._~+/0123456789") T68CHAR[ch.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) {
  T68CHAR[c] = 1;
  T68CHAR[c + 0x20] = 1;
}

const isTchar = (c: number): boolean => c >= 0 && c < 128 && TCHAR[c] === 1;
/** A "word": what can start a scheme, a parameter name or a token68 (tchar ∪ `/`). */
const isWordChar = (c: number): boolean => isTchar(c) || c === SLASH;
const isOws = (c: number): boolean => c === SP || c === HTAB;
/** CTL other than HTAB (RFC 9110 §5.5: not allowed in a field value). */
const isCtl = (c: number): boolean => (c >= 0 && c < 0x20 && c !== HTAB) || c === 0x7f;

const everyChar = (s: string, pred: (c: number) => boolean): boolean => {
  for (let k = 0; k < s.length; k++) if (!pred(s.charCodeAt(k))) return false;
  return s.length > 0;
};
const isToken = (s: string): boolean => everyChar(s, isTchar);
const isToken68Body = (s: string): boolean =>
  everyChar(s, (c) => c >= 0 && c < 128 && T68CHAR[c] === 1);
/** `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` */
const isToken68 = (s: string): boolean => {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === EQUALS) end--;
  return isToken68Body(s.slice(0, end));
};

interface MutableChallenge {
  scheme: string;
  token68?: string;
  params: Record<string, string>;
}

interface Meter {
  steps: number;
}

/** The single-pass scanner. `meter.steps` counts every character inspection. */
const scan = (s: string, meter: Meter): Challenge[] => {
  const n = s.length;
  const at = (k: number): number => {
    meter.steps++;
    return k < n ? s.charCodeAt(k) : END;
  };
  const skipOws = (from: number): number => {
    let k = from;
    while (isOws(at(k))) k++;
    return k;
  };

  /** A quoted-string starting at `from` (the DQUOTE). `value` is undefined when unusable. */
  const readQuoted = (
    from: number,
  ): { readonly end: number; readonly value: string | undefined } => {
    const parts: string[] = [];
    let k = from + 1;
    let segment = k;
    let valid = true;
    for (;;) {
      const c = at(k);
      if (c === END) return { end: k, value: undefined };
      if (c === DQUOTE) {
        parts.push(s.slice(segment, k));
        return { end: k + 1, value: valid ? parts.join("") : undefined };
      }
      if (c === BACKSLASH) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): keep the escaped character (§5.6.4).
        const escaped = at(k + 1);
        if (escaped === END) return { end: k + 1, value: undefined };
        if (isCtl(escaped)) valid = false;
        parts.push(s.slice(segment, k));
        segment = k + 1;
        k += 2;
        continue;
      }
      if (isCtl(c)) valid = false;
      k++;
    }
  };

  /** Skip a malformed element: up to the next comma outside a quoted string, or the end. */
  const skipJunk = (from: number): number => {
    let k = from;
    for (;;) {
      const c = at(k);
      if (c === END || c === COMMA) return k;
      k = c === DQUOTE ? readQuoted(k).end : k + 1;
    }
  };

  const challenges: MutableChallenge[] = [];
  let current: MutableChallenge | undefined;
  let i = 0;
  /** True right after `scheme 1*SP`: the one place a token68 may appear. */
  let slot = false;

  for (;;) {
    if (!slot) {
      // Empty list elements and OWS between elements (RFC 9110 §5.6.1.2).
      for (let c = at(i); c === COMMA || isOws(c); c = at(i)) i++;
    }
    const first = at(i);
    if (first === END) break;
    const inSlot = slot;
    slot = false;
    if (!isWordChar(first)) {
      i = skipJunk(i);
      continue;
    }

    const wordStart = i;
    while (isWordChar(at(i))) i++;
    const wordEnd = i;
    const word = s.slice(wordStart, wordEnd);
    i = skipOws(i);
    const hadWs = i > wordEnd;
    const next = at(i);

    if (next === EQUALS) {
      let j = i;
      while (at(j) === EQUALS) j++;
      const equalsCount = j - i;
      j = skipOws(j);
      const afterEquals = at(j);
      const elementEnds = afterEquals === END || afterEquals === COMMA;

      // token68 with `=` padding (§11.2): `Basic dGVzdA==` — `=`s then the end of the element.
      if (inSlot && current !== undefined && elementEnds && !hadWs && isToken68(word)) {
        current.token68 = s.slice(wordStart, wordEnd + equalsCount);
        i = j;
        continue;
      }
      // auth-param = token BWS "=" BWS ( token / quoted-string )  (RFC 9110 §11.2)
      if (equalsCount === 1 && !elementEnds && isToken(word)) {
        let value: string | undefined;
        let k = j;
        if (afterEquals === DQUOTE) {
          const quoted = readQuoted(j);
          value = quoted.value;
          k = quoted.end;
        } else if (isTchar(afterEquals)) {
          while (isTchar(at(k))) k++;
          value = s.slice(j, k);
        }
        k = skipOws(k);
        const after = at(k);
        if (after === END || after === COMMA) {
          if (value !== undefined && current !== undefined && current.token68 === undefined) {
            const name = word.toLowerCase();
            if (!Object.hasOwn(current.params, name)) current.params[name] = value; // first wins
          }
          i = k;
        } else {
          i = skipJunk(k);
        }
        continue;
      }
      if (inSlot || !hadWs || !isToken(word)) {
        i = skipJunk(j); // `a==b`, `a=`, `a/b=c`, lone `=` runs
        continue;
      }
      // `Bearer =`, `Bearer ==x`: not a parameter, so a scheme with junk in its first element.
    }

    if (inSlot) {
      // token68 without padding (`Negotiate abc`), else junk in the challenge's first element.
      if (current !== undefined && (next === END || next === COMMA) && isToken68(word)) {
        current.token68 = word;
      } else {
        i = skipJunk(i);
      }
      continue;
    }

    // A new challenge: `scheme` then the end, a comma, or 1*SP (RFC 9110 §11.3).
    if (isToken(word) && (next === END || next === COMMA || hadWs)) {
      current = { scheme: word, params: Object.create(null) as Record<string, string> };
      challenges.push(current);
      slot = next !== END && next !== COMMA;
      continue;
    }
    i = skipJunk(i);
  }
  return challenges;
};

const toFieldValue = (header: unknown): string | undefined => {
  if (typeof header === "string") return header;
  if (Array.isArray(header)) {
    // Several field lines = one value joined with ", " (RFC 9110 §5.3).
    return header.filter((line): line is string => typeof line === "string").join(", ");
  }
  return undefined;
};

/**
 * Parse a `WWW-Authenticate` field value into its challenges, in order (RFC 9110 §11.6.1).
 * Accepts one value, several field lines (same as joined with `", "`, RFC 9110 §5.3),
 * or nothing (`null`/`undefined` → `[]`). Never throws; linear time.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
 */
export function parseWwwAuthenticate(
  header: string | readonly string[] | null | undefined,
): readonly Challenge[] {
  return parseWwwAuthenticateMetered(header).challenges;
}

/**
 * {@link parseWwwAuthenticate} plus the number of character inspections the scanner made.
 * @internal A test hook: lets tests assert linear work by counting, not by timing.
 */
export function parseWwwAuthenticateMetered(
  header: string | readonly string[] | null | undefined,
): { readonly challenges: readonly Challenge[]; readonly steps: number } {
  const meter: Meter = { steps: 0 };
  const value = toFieldValue(header);
  const challenges = value === undefined ? [] : scan(value, meter);
  return { challenges, steps: meter.steps };
}

const quote = (value: string): string => {
  let out = '"';
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (isCtl(c)) continue;
    if (c === DQUOTE || c === BACKSLASH) out += "\\";
    out += value[k];
  }
  return `${out}"`;
};

/**
 * Serialize challenges into one `WWW-Authenticate` value (RFC 9110 §11.6.1, §11.2). Parameter
 * values are always written as quoted-strings with `"` and `\` escaped (§5.6.4) — valid for every
 * value, and what RFC 6750 §3 uses. What a field value cannot carry is left out rather than
 * written invalid: challenges whose scheme is not a token, parameters whose name is not a token,
 * control characters other than HTAB in values (§5.5). A challenge with a valid `token68` is
 * written as `scheme token68` and its params are ignored (the two are exclusive, §11.2).
 * For `parseWwwAuthenticate(serializeChallenges(cs))` to return `cs`, param names must be
 * lower-case (parsing lower-cases them).
 */
export function serializeChallenges(challenges: readonly Challenge[]): string {
  const parts: string[] = [];
  if (!Array.isArray(challenges)) return "";
  for (const challenge of challenges) {
    if (typeof challenge?.scheme !== "string" || !isToken(challenge.scheme)) continue;
    if (typeof challenge.token68 === "string" && isToken68(challenge.token68)) {
      parts.push(`${challenge.scheme} ${challenge.token68}`);
      continue;
    }
    const params = Object.entries(challenge.params ?? {})
      .filter((e): e is [string, string] => isToken(e[0]) && typeof e[1] === "string")
      .map(([name, value]) => `${name}=${quote(value)}`);
    parts.push(params.length === 0 ? challenge.scheme : `${challenge.scheme} ${params.join(", ")}`);
  }
  return parts.join(", ");
}

/** The first challenge with the given scheme, compared case-insensitively (RFC 9110 §11.1). */
export function findChallenge(
  challenges: readonly Challenge[],
  scheme: string,
): Challenge | undefined {
  if (typeof scheme !== "string" || !Array.isArray(challenges)) return undefined;
  const wanted = scheme.toLowerCase();
  return challenges.find((c) => typeof c?.scheme === "string" && c.scheme.toLowerCase() === wanted);
}

/** What the MCP client acts on in a resource server's 401/403 (RFC 6750 §3, RFC 9728 §5.1). */
export interface ResourceChallenge {
  /** Normalized spelling of the scheme that was chosen. */
  readonly scheme: "Bearer" | "DPoP";
  /** RFC 6750 §3.1 `error` (`invalid_token`, `insufficient_scope`, ...). */
  readonly error?: string;
  /** RFC 6750 §3 `error_description`. */
  readonly errorDescription?: string;
  /**
   * RFC 6750 §3 `scope`, parsed with {@link parseScope}; absent without a scope param, `[]` for
   * `scope=""`.
   */
  readonly scope?: Scopes;
  /** RFC 9728 §5.1 `resource_metadata`, raw as given (validated by metadata-urls). */
  readonly resourceMetadata?: string;
}

/**
 * Read the resource server challenge from a 401/403 `WWW-Authenticate` (RFC 6750 §3; RFC 9449
 * §7.1; RFC 9728 §5.1). The `Bearer` challenge is used if present, else `DPoP`; other
 * schemes are ignored. `resource_metadata` is taken from the chosen challenge, or else from the
 * other of the two — a server may put it only on its `DPoP` challenge (RFC 9728 §5.1). `undefined`
 * when neither scheme is offered (or no header: probe the well-known URLs, as MCP prescribes).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#protected-resource-metadata-discovery-requirements
 */
export function readResourceChallenge(
  header: string | readonly string[] | null | undefined,
): ResourceChallenge | undefined {
  const challenges = parseWwwAuthenticate(header);
  const bearer = findChallenge(challenges, "Bearer");
  const dpop = findChallenge(challenges, "DPoP");
  const chosen = bearer ?? dpop;
  if (chosen === undefined) return undefined;
  const other = chosen === bearer ? dpop : undefined;
  const p = chosen.params;
  const resourceMetadata = p.resource_metadata ?? other?.params.resource_metadata;
  return {
    scheme: chosen === bearer ? "Bearer" : "DPoP",
    ...(p.error !== undefined && { error: p.error }),
    ...(p.error_description !== undefined && { errorDescription: p.error_description }),
    ...(p.scope !== undefined && { scope: parseScope(p.scope) }),
    ...(resourceMetadata !== undefined && { resourceMetadata }),
  };
}
