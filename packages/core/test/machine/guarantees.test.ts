/**
 * Guarantees over the machine definitions themselves, for every context fast-check can make:
 * - no transition taken on a 403 reaches `refreshing` (a refresh cannot widen scope, RFC 6749 §6:
 *   "MUST NOT include any scope not originally granted");
 * - the candidates of an event are mutually exclusive: for each event the lifecycle classifies,
 *   exactly one guard holds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AnyStateNode, AnyTransitionDefinition } from "xstate";
import { TokenEndpointFailed, TokenRejected } from "../../src/errors.js";
import { authMachine } from "../../src/machine/auth-machine.js";
import { authorizationCodeFlow } from "../../src/machine/flows/authorization-code.js";
import { countAuthorization, noAuthorizations } from "../../src/machine/loop-guard.js";
import {
  type AuthContext,
  type AuthEvent,
  type ChallengeInfo,
  defaultAuthConfig,
} from "../../src/machine/model.js";
import {
  authServerInfo,
  clientInfo,
  resourceInfo,
  SERVER_URL,
  stateNodesOf,
  tokenInfo,
} from "./scripted.js";

const scopes = fc.subarray(["read", "write", "admin", "offline_access"]);

const contextArb: fc.Arbitrary<AuthContext> = fc
  .record({
    token: fc.option(
      fc.record({
        version: fc.integer({ min: 1, max: 3 }),
        scopes,
        hasRefreshToken: fc.boolean(),
        obtainedBy: fc.constantFrom(
          "authorization",
          "refresh",
          "refresh-after-401",
        ) as fc.Arbitrary<"authorization" | "refresh" | "refresh-after-401">,
      }),
      { nil: undefined },
    ),
    declined: scopes,
    refused: scopes,
    requestedSoFar: scopes,
    counted: fc.array(scopes, { maxLength: 4 }),
    perSet: fc.integer({ min: 1, max: 3 }),
    perSession: fc.integer({ min: 1, max: 5 }),
    refreshFailures: fc.integer({ min: 0, max: 4 }),
    client: fc.constantFrom("dynamic", "pre-registered", undefined),
    reregistered: fc.boolean(),
    configured: scopes,
  })
  .map((r) => ({
    serverUrl: SERVER_URL,
    config: {
      ...defaultAuthConfig,
      configuredScopes: r.configured,
      maxAuthorizationsPerScopeSet: r.perSet,
      maxAuthorizationsPerSession: r.perSession,
    },
    resource: resourceInfo(["read", "write"]),
    authServer: authServerInfo(),
    client: r.client === undefined ? undefined : clientInfo(r.client),
    token: r.token && tokenInfo(r.token),
    requestedSoFar: r.requestedSoFar,
    declined: r.declined,
    refused: r.refused,
    authorizations: r.counted.reduce(countAuthorization, noAuthorizations),
    refreshFailures: r.refreshFailures,
    reregistered: r.reregistered,
    failedFlows: 0,
    tokenAccepted: true,
    tokenProven: false,
  }));

const challengeArb = (status?: 401 | 403): fc.Arbitrary<ChallengeInfo> =>
  fc.record({
    status:
      status === undefined ? fc.constantFrom(401 as const, 403 as const) : fc.constant(status),
    error: fc.constantFrom(undefined, "invalid_token", "insufficient_scope", "access_denied"),
    scope: fc.option(scopes, { nil: undefined }),
    resourceMetadata: fc.constantFrom(
      undefined,
      "https://mcp.example.com/.well-known/oauth-protected-resource/other",
    ),
  });

const challengeEvent = (challenge: ChallengeInfo, tokenVersion: number | undefined): AuthEvent => ({
  type: "challenge.received",
  requestId: "r",
  challenge,
  tokenVersion,
});

const guardsOf = (transitions: readonly AnyTransitionDefinition[]) =>
  transitions.map((t) => {
    const guard = t.guard as { type?: string } | string | undefined;
    return typeof guard === "string" ? guard : guard?.type;
  });

const holds = (name: string | undefined, context: AuthContext, event: unknown) => {
  if (name === undefined) return true;
  const guard = (authMachine.implementations.guards as Record<string, unknown>)[name] as (
    args: { context: AuthContext; event: unknown },
    params: unknown,
  ) => boolean;
  return guard({ context, event }, undefined);
};

const node = (path: string) =>
  stateNodesOf(authMachine).find((n) => n.path.join(".") === path) as AnyStateNode;

describe("a 403 never reaches refreshing", () => {
  it("structurally: no transition on challenge.received targets refreshing unless its guard asks for a 401", () => {
    const intoRefreshing = stateNodesOf(authMachine)
      .flatMap((n) => [...n.transitions.values()].flat())
      .filter((t) => t.target?.some((target) => target.key === "refreshing"));
    // Every way in: the proactive timer, a 401, an expired token, the backoff's end.
    expect(
      intoRefreshing
        .map((t) => `${(t.source as AnyStateNode).key}: ${t.eventType} [${guardsOf([t])[0] ?? ""}]`)
        .sort(),
    ).toEqual([
      "authorized: challenge.received [refreshOn401]",
      "authorized: token.expired [expiredWithRefreshToken]",
      "authorized: xstate.after.refreshDue.authchart.authorized [refreshIsDue]",
      "refreshBackoff: xstate.after.refreshBackoff.authchart.refreshBackoff []",
    ]);
    // The child flows never refresh: a flow has no refresh state at all.
    expect(stateNodesOf(authorizationCodeFlow).map((n) => n.key)).not.toContain("refreshing");
  });

  it("for every context and every 403, in every state, the transitions taken never reach refreshing", () => {
    const states = [
      "unauthorized",
      "authorized",
      "obtaining",
      "refreshing",
      "refreshBackoff",
      "failed",
    ];
    fc.assert(
      fc.property(
        contextArb,
        challengeArb(403),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        fc.constantFrom(...states),
        (context, challenge, tokenVersion, value) => {
          const snapshot = authMachine.resolveState({ value, context });
          const taken = authMachine.getTransitionData(
            snapshot,
            challengeEvent(challenge, tokenVersion),
          );
          for (const t of taken) {
            expect(t.target?.map((target) => target.key) ?? []).not.toContain("refreshing");
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("each event's candidates are mutually exclusive: exactly one guard holds", () => {
  it("challenge.received in authorized", () => {
    const candidates = node("authorized").transitions.get("challenge.received") ?? [];
    const names = guardsOf(candidates);
    expect(names.every((n) => n !== undefined)).toBe(true);
    fc.assert(
      fc.property(
        contextArb,
        challengeArb(),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        (context, challenge, tokenVersion) => {
          const event = challengeEvent(challenge, tokenVersion);
          expect(names.filter((n) => holds(n, context, event))).toHaveLength(1);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("token.expired in authorized", () => {
    const names = guardsOf(node("authorized").transitions.get("token.expired") ?? []);
    expect(names.every((n) => n !== undefined)).toBe(true);
    fc.assert(
      fc.property(contextArb, fc.integer({ min: 0, max: 3 }), (context, tokenVersion) => {
        const event = { type: "token.expired", requestId: "r", tokenVersion };
        expect(names.filter((n) => holds(n, context, event))).toHaveLength(1);
      }),
      { numRuns: 2000 },
    );
  });

  it("a refresh's failure", () => {
    const names = guardsOf(
      node("refreshing").transitions.get("xstate.error.actor.refreshToken") ?? [],
    );
    expect(names.every((n) => n !== undefined)).toBe(true);
    const errors = fc.constantFrom(
      new TokenRejected({ code: "invalid_grant", status: 400, grantType: "refresh_token" }),
      new TokenRejected({ code: "invalid_client", status: 401, grantType: "refresh_token" }),
      new TokenRejected({ code: "unauthorized_client", status: 400, grantType: "refresh_token" }),
      new TokenEndpointFailed({ status: 503, grantType: "refresh_token", reason: "unavailable" }),
      new Error("not a typed failure"),
    );
    fc.assert(
      fc.property(contextArb, errors, (context, error) => {
        const event = { type: "xstate.error.actor.refreshToken", error };
        expect(names.filter((n) => holds(n, context, event))).toHaveLength(1);
      }),
      { numRuns: 1000 },
    );
  });
});
