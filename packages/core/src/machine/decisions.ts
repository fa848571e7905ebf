/**
 * The statechart's decisions as pure functions of context and event: scope plans (SPEC S1-S5,
 * T10), the loop guard (S6), rejected-token attribution, what counts as a refusable step-up.
 * The machine names each one as a guard or action; tests call them directly too.
 */
import {
  formatScope,
  includesAll,
  missingScopes,
  selectScopes,
  stepUpScopes,
  unionScopes,
} from "../protocol/scopes.js";
import { type AuthchartError, AuthorizationLoop } from "./errors.js";
import { authorizationRefusal, authorizationsFor } from "./loop-guard.js";
import type { AuthContext, ChallengeInfo, ScopePlan, Scopes } from "./model.js";

/** SPEC S1-S3, T10, S5: the first (or a re-) authorization after discovery. */
export const initialPlan = (context: AuthContext): ScopePlan => {
  const challenged =
    context.challenge?.scope && context.challenge.scope.length > 0
      ? context.challenge.scope
      : undefined;
  const selection = selectScopes({
    configured: context.config.configuredScopes,
    challenged,
    resourceScopesSupported: context.resource?.scopesSupported,
    authServerScopesSupported: context.authServer?.metadata.scopes_supported,
    offlineAccess: context.config.offlineAccess,
  });
  // SEP-2350: keep what this session asked for before (a re-authorization after a 401 must not
  // lose a step-up), less what was declined.
  const previous = context.requestedSoFar.filter((s) => !context.declined.includes(s));
  return {
    requested: unionScopes(selection.scopes, previous),
    origin: selection.source,
    optional: selection.offlineAccessAdded ? ["offline_access"] : [],
    required: unionScopes(context.config.configuredScopes, challenged ?? []),
  };
};

/**
 * SPEC S4, S5 (SEP-2350): step-up asks for everything asked for or granted before, plus what the
 * challenge names; a challenge without scope falls back per S1 to scopes_supported (S3, E16).
 */
export const stepUpPlan = (context: AuthContext, challenge: ChallengeInfo): ScopePlan => {
  const challenged =
    challenge.scope && challenge.scope.length > 0
      ? challenge.scope
      : (context.resource?.scopesSupported ?? []);
  const before = unionScopes(context.requestedSoFar, context.token?.scopes ?? []);
  return {
    requested: stepUpScopes(before, challenged),
    origin: "step-up",
    optional: context.scopes?.optional ?? [],
    required: unionScopes(context.config.configuredScopes, challenged),
  };
};

/** Behaviour 5: scopes taken from scopes_supported and refused are dropped once, not forever. */
export const withoutScopePlan = (context: AuthContext): ScopePlan => ({
  requested: [],
  origin: "without-scope",
  optional: [],
  required: context.scopes?.required ?? [],
});

/** SPEC S6: the loop guard's refusal of this plan, or undefined when it may be authorized. */
export const authorizationRefused = (
  context: AuthContext,
  plan: ScopePlan | undefined,
): AuthorizationLoop | undefined =>
  authorizationRefusal(context.config, context.authorizations, plan?.requested ?? []);

/** SPEC S6: may this plan be authorized once more? */
export const authorizationAllowed = (context: AuthContext, plan: ScopePlan | undefined): boolean =>
  authorizationRefused(context, plan) === undefined;

/** The refusal a transition reports once `authorizationAllowed` said no. */
export const loopRefusal = (context: AuthContext, plan: ScopePlan | undefined): AuthorizationLoop =>
  authorizationRefused(context, plan) ??
  new AuthorizationLoop({
    scopes: [...(plan?.requested ?? [])],
    attempts: authorizationsFor(context.authorizations, plan?.requested ?? []),
    counted: "authorizations for this scope set",
  });

/** Rejected-token attribution: a challenge to a request that carried an older token (or none). */
export const isForOlderToken = (context: AuthContext, tokenVersion: number | undefined): boolean =>
  context.token !== undefined &&
  (tokenVersion === undefined || tokenVersion < context.token.version);

export const isInsufficientScope = (challenge: ChallengeInfo): boolean =>
  challenge.status === 403 && challenge.error === "insufficient_scope";

/** The challenge asks for a scope the user or server already declined in this session. */
export const declinedScopesIn = (context: AuthContext, challenge: ChallengeInfo): Scopes =>
  (challenge.scope ?? []).filter((s) => context.declined.includes(s));

/**
 * A step-up whose scopes are all held already (the server keeps saying insufficient_scope for a
 * scope the token has): another prompt would change nothing but is left to the loop guard.
 */
export const grantCovers = (context: AuthContext, scopes: Scopes): boolean =>
  includesAll(context.token?.scopes ?? [], scopes);

/** SPEC T9: refresh once on a 401; a token that a 401-refresh produced and still gets 401 re-authorizes. */
export const mayRefreshOn401 = (context: AuthContext): boolean =>
  context.token?.hasRefreshToken === true && context.token.obtainedBy !== "refresh-after-401";

/** No proactive refresh sooner than this after a token was issued, whatever its lifetime. */
export const minRefreshIntervalMillis = 1_000;

/**
 * When to refresh ahead of expiry (behaviour 3), or undefined for never: no refresh token, no
 * known expiry, a token no request has used yet (an idle session refreshes nothing), or refreshes
 * that already failed for good. The skew is capped at half the
 * token's lifetime so that a short-lived token is not "due" the moment it arrives — the refresh
 * loop a fixed skew would cause — and a refresh never follows issue within a second.
 */
export const proactiveRefreshAt = (context: AuthContext): number | undefined => {
  const token = context.token;
  if (token?.hasRefreshToken !== true || token.expiresAt === undefined) return undefined;
  if (!context.tokenAccepted) return undefined;
  if (context.refreshFailures >= context.config.maxRefreshRetries) return undefined;
  const lifetime = token.expiresAt - token.obtainedAt;
  const skew = Math.min(context.config.refreshSkewMillis, lifetime / 2);
  return Math.max(token.expiresAt - skew, token.obtainedAt + minRefreshIntervalMillis);
};

/** What the grant lacks of what was asked for, offline_access and other conveniences aside. */
export const declinedInGrant = (plan: ScopePlan | undefined, granted: Scopes): Scopes =>
  missingScopes(
    (plan?.requested ?? []).filter((s) => !plan?.optional.includes(s)),
    granted,
  );

/** Behaviour 5: invalid_scope for scopes that came from scopes_supported. */
export const scopesFromSupportedRefused = (context: AuthContext, error: AuthchartError): boolean =>
  context.scopes?.origin === "scopes_supported" &&
  ((error._tag === "AuthorizationDenied" && error.error === "invalid_scope") ||
    (error._tag === "TokenRejected" && error.code === "invalid_scope"));

/**
 * Behaviour 6: a dynamically registered client the server no longer knows (invalid_client), or
 * whose secret expired (RFC 7591 §3.2.1), registers again — once per flow.
 */
export const dynamicClientRejected = (context: AuthContext, error: AuthchartError): boolean =>
  context.client?.kind === "dynamic" &&
  !context.reregistered &&
  ((error._tag === "TokenRejected" && error.code === "invalid_client") ||
    error._tag === "ClientSecretExpired");

/** Scopes for a trace entry: bounded, whatever a server made them (at most ~1000 characters). */
export const describeScopes = (scopes: Scopes | undefined): string => {
  const text = formatScope(scopes ?? []) ?? "(no scope parameter)";
  return text.length > 1000 ? `${text.slice(0, 1000)}… (${scopes?.length} scopes)` : text;
};
