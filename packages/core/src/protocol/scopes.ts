/**
 * Scope sets: parsing, formatting, set algebra, initial selection and step-up.
 *
 * Scopes are space-delimited, case-sensitive and unordered (RFC 6749 §3.3, RFC 6750 §3).
 * This library represents a scope set as a duplicate-free array in order of first appearance, so
 * that the `scope` parameter it sends is deterministic (stable in tests, snapshots and logs) while
 * every comparison is a set comparison.
 *
 * Pure: no I/O, never throws.
 */

/** A duplicate-free list of scope tokens, in order of first appearance (RFC 6749 §3.3). */
export type Scopes = readonly string[];

/** Dedupe non-empty tokens keeping first-seen order; splits entries that contain whitespace. */
const normalize = (scopes: readonly string[]): string[] => {
  const seen = new Set<string>();
  if (!Array.isArray(scopes)) return [];
  for (const entry of scopes) {
    if (typeof entry !== "string") continue;
    for (const token of splitScopeString(entry)) seen.add(token);
  }
  return [...seen];
};

/**
 * Split on SP, tolerating HTAB and runs of either (RFC 6749 §3.3 uses exactly one SP; being lenient
 * on input costs nothing and real servers emit double spaces). Single pass, no regex.
 */
const splitScopeString = (value: string): string[] => {
  const tokens: string[] = [];
  let start = -1;
  for (let i = 0; i <= value.length; i++) {
    const c = i < value.length ? value.charCodeAt(i) : 0x20;
    if (c === 0x20 || c === 0x09) {
      if (start !== -1) {
        tokens.push(value.slice(start, i));
        start = -1;
      }
    } else if (start === -1) {
      start = i;
    }
  }
  return tokens;
};

/**
 * Parse a `scope` value (RFC 6749 §3.3; RFC 6750 §3 for the challenge parameter).
 * Splits on SP/HTAB runs, drops duplicates (first occurrence wins), keeps case (scope tokens are
 * case-sensitive). `""`, `null` and `undefined` all give `[]` (`scope=""` means no scope at all).
 */
export function parseScope(value: string | null | undefined): Scopes {
  return typeof value === "string" ? normalize([value]) : [];
}

/**
 * Format scopes as the `scope` request parameter (RFC 6749 §3.3): deduped, single-SP separated.
 * Returns `undefined` for an empty set so that callers omit the parameter altogether (MCP "Scope
 * Selection Strategy": else omit `scope` — an empty `scope=` is not the same request).
 */
export function formatScope(scopes: Scopes): string | undefined {
  const normalized = normalize(scopes);
  return normalized.length === 0 ? undefined : normalized.join(" ");
}

/**
 * Union of scope sets, stable (order of first appearance across the arguments). Used for step-up
 * (SEP-2350, "Clarify client-side scope accumulation in step-up authorization") and for combining
 * configured + challenged scopes (MCP "Scope Selection Strategy").
 */
export function unionScopes(...sets: Scopes[]): Scopes {
  return normalize(sets.filter((s) => Array.isArray(s)).flat());
}

/**
 * The scopes of `required` not present in `granted` (order of `required`). Used to decide whether a
 * 403 `insufficient_scope` asks for something new (MCP "Step-Up Authorization Flow") and whether
 * a token response's `scope` (the granted set, OAuth 2.1 §3.2.3) was down-scoped.
 */
export function missingScopes(required: Scopes, granted: Scopes): Scopes {
  const have = new Set(normalize(granted));
  return normalize(required).filter((s) => !have.has(s));
}

/** Whether `granted` ⊇ `required` (set semantics, RFC 6749 §3.3). */
export function includesAll(granted: Scopes, required: Scopes): boolean {
  return missingScopes(required, granted).length === 0;
}

/** Set equality: order and duplicates do not matter (scopes are unordered, RFC 6749 §3.3). */
export function sameScopes(a: Scopes, b: Scopes): boolean {
  return includesAll(a, b) && includesAll(b, a);
}

/** Where the selected scopes came from; recorded so the statechart and inspector can show it. */
export type ScopeSource =
  | "configured+challenge"
  | "configured"
  | "challenge"
  | "scopes_supported"
  | "none";

/** The result of {@link selectScopes}. */
export interface ScopeSelection {
  readonly scopes: Scopes;
  readonly source: ScopeSource;
  readonly offlineAccessAdded: boolean;
}

const OFFLINE_ACCESS = "offline_access";

/**
 * Choose the scopes of an authorization request (MCP "Scope Selection Strategy").
 *
 * 1. Configured scopes (what the application asks for) are always requested; when the challenge
 *    carries a scope, the union (configured first) — the challenge is authoritative for the current
 *    request (MCP PRM discovery requirements), the configuration for what the application needs.
 * 2. No configured scopes: the challenge's `scope` (MCP strategy, step 1).
 * 3. Else PRM `scopes_supported`, all of them (step 2).
 * 4. Else none: the caller omits `scope` (step 2, `scopes_supported` undefined).
 *
 * A challenge whose scope is empty (`scope=""`) counts as no challenge scope (the step 2 fallback).
 *
 * `offline_access` (SEP-2207, "OIDC-flavored refresh token guidance"): appended when
 * `offlineAccess !== false` (default on) and the AS metadata `scopes_supported` lists it, unless
 * already present. It is never added when the selection is otherwise empty (source `"none"`):
 * omitting `scope` lets the AS apply its default, and turning that into `scope=offline_access`
 * would narrow the grant to refresh-only.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#scope-selection-strategy
 */
export function selectScopes(input: {
  readonly configured?: Scopes | undefined;
  readonly challenged?: Scopes | undefined;
  readonly resourceScopesSupported?: Scopes | undefined;
  readonly authServerScopesSupported?: Scopes | undefined;
  readonly offlineAccess?: boolean | undefined;
}): ScopeSelection {
  const configured = normalize(input?.configured ?? []);
  const challenged = normalize(input?.challenged ?? []);
  const supported = normalize(input?.resourceScopesSupported ?? []);

  let scopes: string[];
  let source: ScopeSource;
  if (configured.length > 0) {
    scopes = normalize([...configured, ...challenged]);
    source = challenged.length > 0 ? "configured+challenge" : "configured";
  } else if (challenged.length > 0) {
    scopes = challenged;
    source = "challenge";
  } else if (supported.length > 0) {
    scopes = supported;
    source = "scopes_supported";
  } else {
    return { scopes: [], source: "none", offlineAccessAdded: false };
  }

  const asSupportsOffline = normalize(input.authServerScopesSupported ?? []).includes(
    OFFLINE_ACCESS,
  );
  const addOffline =
    input.offlineAccess !== false && asSupportsOffline && !scopes.includes(OFFLINE_ACCESS);
  if (addOffline) scopes = [...scopes, OFFLINE_ACCESS];
  return { scopes, source, offlineAccessAdded: addOffline };
}

/**
 * Scopes to request on step-up after a 403 `insufficient_scope` (MCP "Step-Up Authorization
 * Flow"): the previously requested scopes ∪ the challenged ones, previous first. SEP-2350 requires
 * the union because a server may challenge only the missing scope; it also satisfies 2025-11-25.
 */
export function stepUpScopes(previous: Scopes, challenged: Scopes): Scopes {
  return unionScopes(previous, challenged);
}
