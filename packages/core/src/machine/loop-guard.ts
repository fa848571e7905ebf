/**
 * The loop guard (MCP "Step-Up Authorization Flow": cap retries; MCP Security Best Practices
 * "Scope Minimization": cache denials): how many authorizations this session started, per
 * requested scope set and in all, and the refusal when a plan would exceed either budget. One
 * module, so that the budget, the key, the counting and the refusal cannot drift apart.
 *
 * The counters are a Map: scope sets are server-provided strings, and a plain object keyed by
 * them would read `constructor` or `__proto__` from Object.prototype.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#step-up-authorization-flow
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices#scope-minimization
 */
import { AuthorizationLoop } from "./errors.js";
import type { AuthConfig, Scopes } from "./model.js";

/** Authorizations started, by scope-set key. */
export type AuthorizationCounts = ReadonlyMap<string, number>;

export const noAuthorizations: AuthorizationCounts = new Map();

/** The key of a scope set, order-free (scopes are unordered, RFC 6749 §3.3). */
export const scopeSetKey = (scopes: Scopes): string => [...scopes].sort().join(" ");

/** The counts after one more authorization for `scopes`. */
export const countAuthorization = (
  counts: AuthorizationCounts,
  scopes: Scopes,
): AuthorizationCounts => {
  const key = scopeSetKey(scopes);
  return new Map(counts).set(key, (counts.get(key) ?? 0) + 1);
};

/**
 * The counts without this scope set: a token it produced proved itself (a 2xx answer at the
 * resource), so the authorizations that led to it were no loop.
 */
export const forgetAuthorizations = (
  counts: AuthorizationCounts,
  scopes: Scopes,
): AuthorizationCounts => {
  const key = scopeSetKey(scopes);
  if (!counts.has(key)) return counts;
  const next = new Map(counts);
  next.delete(key);
  return next;
};

/** Authorizations started for this scope set. */
export const authorizationsFor = (counts: AuthorizationCounts, scopes: Scopes): number =>
  counts.get(scopeSetKey(scopes)) ?? 0;

/** Every authorization this session started, whatever its scopes. */
export const totalAuthorizations = (counts: AuthorizationCounts): number => {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
};

type Budget = Pick<AuthConfig, "maxAuthorizationsPerScopeSet" | "maxAuthorizationsPerSession">;

/**
 * The refusal for one more authorization of `scopes`, or undefined when it is allowed. Bounded per
 * scope set, and in total — a server that asks for a new scope every time makes a new set every
 * time, and must not prompt forever. The error states the count that tripped, and of what.
 */
export const authorizationRefusal = (
  budget: Budget,
  counts: AuthorizationCounts,
  scopes: Scopes,
): AuthorizationLoop | undefined => {
  const forSet = authorizationsFor(counts, scopes);
  if (forSet >= budget.maxAuthorizationsPerScopeSet) {
    return new AuthorizationLoop({
      scopes: [...scopes],
      attempts: forSet,
      counted: "authorizations for this scope set",
    });
  }
  const total = totalAuthorizations(counts);
  if (total >= budget.maxAuthorizationsPerSession) {
    return new AuthorizationLoop({
      scopes: [...scopes],
      attempts: total,
      counted: "authorizations in this session",
    });
  }
  return undefined;
};
