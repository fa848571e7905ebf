/** The statechart's decisions as pure functions (decisions.ts): scope plans, the loop guard, attribution. */
import { describe, expect, it } from "vitest";
import {
  authorizationAllowed,
  declinedInGrant,
  declinedScopesIn,
  dynamicClientRejected,
  grantCovers,
  initialPlan,
  isForOlderToken,
  isInsufficientScope,
  mayRefreshOn401,
  scopeFactsOf,
  scopesFromSupportedRefused,
  stepUpPlan,
  withoutScopePlan,
} from "../../src/machine/decisions.js";
import { authorizationsFor, noAuthorizations, scopeSetKey } from "../../src/machine/loop-guard.js";
import { type AuthContext, defaultAuthConfig, type ScopePlan } from "../../src/machine/model.js";
import {
  authServerInfo,
  clientInfo,
  failures,
  resourceInfo,
  SERVER_URL,
  tokenInfo,
} from "./scripted.js";

const context = (overrides: Partial<AuthContext> = {}): AuthContext => ({
  serverUrl: SERVER_URL,
  config: defaultAuthConfig,
  requestedSoFar: [],
  declined: [],
  refused: [],
  authorizations: noAuthorizations,
  failedFlows: 0,
  tokenAccepted: false,
  tokenProven: false,
  refreshFailures: 0,
  reregistered: false,
  ...overrides,
});

/** The scope facts of a lifecycle context. */
const facts = (overrides: Partial<AuthContext> = {}) => scopeFactsOf(context(overrides));

const plan = (requested: string[], overrides: Partial<ScopePlan> = {}): ScopePlan => ({
  requested,
  origin: "challenge",
  optional: [],
  required: [],
  ...overrides,
});

describe("initialPlan: the scopes of a first authorization (SPEC S1-S3, S5, T10)", () => {
  it("takes the challenge's scope first, and it is required", () => {
    const p = initialPlan(
      facts({
        challenge: { status: 401, scope: ["files:read"] },
        resource: resourceInfo(["read", "write"]),
      }),
    );
    expect(p).toMatchObject({ requested: ["files:read"], origin: "challenge" });
    expect(p.required).toEqual(["files:read"]);
  });

  it("falls back to the resource's scopes_supported, which are not required (S1.2, S3)", () => {
    const p = initialPlan(facts({ resource: resourceInfo(["read", "write"]) }));
    expect(p).toMatchObject({ requested: ["read", "write"], origin: "scopes_supported" });
    expect(p.required).toEqual([]);
  });

  it("asks for no scope when nothing names one (S1.3)", () => {
    expect(initialPlan(facts({ resource: resourceInfo() }))).toMatchObject({
      requested: [],
      origin: "none",
    });
  });

  it("always keeps the configured scopes, with the challenge's added (S2)", () => {
    const p = initialPlan(
      facts({
        config: { ...defaultAuthConfig, configuredScopes: ["app"] },
        challenge: { status: 401, scope: ["x"] },
      }),
    );
    expect(p).toMatchObject({ requested: ["app", "x"], origin: "configured+challenge" });
    expect(p.required).toEqual(["app", "x"]);
  });

  it("adds offline_access when the authorization server lists it, as an optional scope (T10)", () => {
    const p = initialPlan(
      facts({ challenge: { status: 401, scope: ["read"] }, authServer: authServerInfo() }),
    );
    expect(p.requested).toEqual(["read", "offline_access"]);
    expect(p.optional).toEqual(["offline_access"]);
  });

  it("keeps what this session asked for before, less what was declined (SEP-2350)", () => {
    const p = initialPlan(
      facts({
        challenge: { status: 401, scope: ["read"] },
        requestedSoFar: ["read", "admin", "write"],
        declined: ["write"],
      }),
    );
    expect(p.requested).toEqual(["read", "admin"]);
  });
});

describe("stepUpPlan: 403 insufficient_scope (SPEC S4, S5)", () => {
  it("asks for the union of everything requested or granted and the challenged scopes", () => {
    const p = stepUpPlan(
      facts({ requestedSoFar: ["read"], token: tokenInfo({ scopes: ["read", "list"] }) }),
      { status: 403, error: "insufficient_scope", scope: ["write"] },
    );
    expect(p).toMatchObject({ requested: ["read", "list", "write"], origin: "step-up" });
    expect(p.required).toEqual(["write"]);
  });

  it("falls back to scopes_supported when the challenge names no scope (S3, E16)", () => {
    const p = stepUpPlan(
      facts({
        token: tokenInfo({ scopes: ["read"] }),
        resource: resourceInfo(["read", "admin"]),
      }),
      { status: 403, error: "insufficient_scope" },
    );
    expect(p.requested).toEqual(["read", "admin"]);
  });
});

describe("withoutScopePlan (behaviour 5)", () => {
  it("sends no scope parameter but keeps what the request requires", () => {
    expect(withoutScopePlan(plan(["read"], { required: ["read"] }))).toEqual({
      requested: [],
      origin: "without-scope",
      optional: [],
      required: ["read"],
    });
  });
});

describe("the loop guard (behaviour 4, SPEC S6)", () => {
  it("keys a scope set regardless of order", () => {
    expect(scopeSetKey(["b", "a"])).toBe(scopeSetKey(["a", "b"]));
  });

  it("allows maxAuthorizationsPerScopeSet (default 3) authorizations per scope set", () => {
    const p = plan(["write", "read"]);
    const after = (n: number) => context({ authorizations: new Map([["read write", n]]) });
    expect(defaultAuthConfig.maxAuthorizationsPerScopeSet).toBe(3);
    expect(authorizationAllowed(after(2), p)).toBe(true);
    expect(authorizationAllowed(after(3), p)).toBe(false);
    expect(authorizationsFor(after(3).authorizations, p.requested)).toBe(3);
    // another scope set has its own count
    expect(authorizationAllowed(after(3), plan(["read"]))).toBe(true);
  });

  it("finds the declined scopes a step-up challenge asks for", () => {
    const c = context({ declined: ["write"] });
    expect(declinedScopesIn(c, { status: 403, scope: ["write", "read"] })).toEqual(["write"]);
    expect(declinedScopesIn(c, { status: 403, scope: ["read"] })).toEqual([]);
  });

  it("counts a scope as declined only when it was asked for and not optional", () => {
    const p = plan(["read", "write", "offline_access"], { optional: ["offline_access"] });
    expect(declinedInGrant(p, ["read"])).toEqual(["write"]);
    expect(declinedInGrant(p, ["read", "write"])).toEqual([]);
  });
});

describe("rejected-token attribution (behaviour 7)", () => {
  const c = context({ token: tokenInfo({ version: 3 }) });
  it("a challenge to an older token, or to a request sent without one, is for an older token", () => {
    expect(isForOlderToken(c, 2)).toBe(true);
    expect(isForOlderToken(c, undefined)).toBe(true);
  });
  it("a challenge to the current token is not", () => {
    expect(isForOlderToken(c, 3)).toBe(false);
    expect(isForOlderToken(context(), undefined)).toBe(false);
  });
});

describe("isInsufficientScope", () => {
  it("only a 403 with error=insufficient_scope is a step-up", () => {
    expect(isInsufficientScope({ status: 403, error: "insufficient_scope" })).toBe(true);
    expect(isInsufficientScope({ status: 403 })).toBe(false);
    expect(isInsufficientScope({ status: 401, error: "insufficient_scope" })).toBe(false);
  });
});

describe("mayRefreshOn401 (behaviour 3, SPEC T9)", () => {
  it("refreshes a token with a refresh token that was not itself produced by a refresh after a 401", () => {
    expect(mayRefreshOn401(context({ token: tokenInfo() }))).toBe(true);
    expect(mayRefreshOn401(context({ token: tokenInfo({ obtainedBy: "refresh" }) }))).toBe(true);
    expect(
      mayRefreshOn401(context({ token: tokenInfo({ obtainedBy: "refresh-after-401" }) })),
    ).toBe(false);
    expect(mayRefreshOn401(context({ token: tokenInfo({ hasRefreshToken: false }) }))).toBe(false);
  });
});

describe("scopesFromSupportedRefused (behaviour 5)", () => {
  it("is true for invalid_scope on scopes taken from scopes_supported, at either endpoint", () => {
    const c = plan(["read", "write"], { origin: "scopes_supported" });
    expect(scopesFromSupportedRefused(c, failures.deniedInvalidScope)).toBe(true);
    expect(scopesFromSupportedRefused(c, failures.tokenInvalidScope)).toBe(true);
    expect(scopesFromSupportedRefused(c, failures.deniedAccess)).toBe(false);
  });

  it("never drops scopes that the application or the challenge asked for", () => {
    for (const origin of ["challenge", "configured", "configured+challenge", "step-up"] as const) {
      const c = plan(["read"], { origin });
      expect(scopesFromSupportedRefused(c, failures.deniedInvalidScope)).toBe(false);
    }
  });
});

describe("dynamicClientRejected (behaviour 6)", () => {
  it("is true once, for invalid_client on a dynamically registered client", () => {
    const dynamic = context({ client: clientInfo("dynamic") });
    expect(dynamicClientRejected(dynamic, failures.tokenInvalidClient)).toBe(true);
    expect(
      dynamicClientRejected({ ...dynamic, reregistered: true }, failures.tokenInvalidClient),
    ).toBe(false);
    expect(dynamicClientRejected(dynamic, failures.tokenInvalidGrant)).toBe(false);
    expect(
      dynamicClientRejected(
        context({ client: clientInfo("pre-registered") }),
        failures.tokenInvalidClient,
      ),
    ).toBe(false);
  });
});

describe("grantCovers", () => {
  it("compares scope sets", () => {
    const c = context({ token: tokenInfo({ scopes: ["read", "write"] }) });
    expect(grantCovers(c, ["write"])).toBe(true);
    expect(grantCovers(c, ["admin"])).toBe(false);
    expect(grantCovers(context(), [])).toBe(true);
  });
});
