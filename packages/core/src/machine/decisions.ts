/**
 * The statechart's decisions as pure functions of context and event: scope plans (MCP "Scope
 * Selection Strategy" and "Step-Up Authorization Flow"), the loop guard's verdicts, rejected-token
 * attribution, and one classifier per event whose meaning has several cases. The machines name
 * each one as a guard or action; tests call them directly too.
 */
import {
  formatScope,
  includesAll,
  missingScopes,
  selectScopes,
  stepUpScopes,
  unionScopes,
} from "../protocol/scopes.js";
import { offersDeviceGrant } from "../steps/device-authorization.js";
import {
  type AuthchartError,
  AuthorizationLoop,
  InteractionRequired,
  isTransient,
} from "./errors.js";
import { authorizationRefusal, authorizationsFor } from "./loop-guard.js";
import type {
  AuthConfig,
  AuthContext,
  AuthServerInfo,
  ChallengeInfo,
  ClientInfo,
  ResourceInfo,
  ScopePlan,
  Scopes,
  TokenInfo,
} from "./model.js";

/** What a scope plan is made from: the lifecycle's facts, or a flow's copy of them. */
export interface ScopeFacts {
  readonly config: Pick<AuthConfig, "configuredScopes" | "offlineAccess">;
  readonly challenge?: ChallengeInfo | undefined;
  readonly resource?: ResourceInfo | undefined;
  readonly authServer?: AuthServerInfo | undefined;
  readonly requestedSoFar: Scopes;
  readonly declined: Scopes;
  /** Scopes from `scopes_supported` the authorization server refused in this session. */
  readonly refused: Scopes;
  /** The scopes of the token held, if any. */
  readonly granted: Scopes;
  /** The optional scopes (offline_access) of the last plan. */
  readonly optional: Scopes;
}

/** The lifecycle's scope facts. */
export const scopeFactsOf = (context: AuthContext): ScopeFacts => ({
  config: context.config,
  challenge: context.challenge,
  resource: context.resource,
  authServer: context.authServer,
  requestedSoFar: context.requestedSoFar,
  declined: context.declined,
  refused: context.refused,
  granted: context.token?.scopes ?? [],
  optional: context.scopes?.optional ?? [],
});

/**
 * The first (or a re-) authorization after discovery: configured, else challenged, else the
 * resource's then the server's `scopes_supported` (MCP "Scope Selection Strategy"), with
 * offline_access when the server lists it; plus what this session asked for before (SEP-2350: a
 * re-authorization after a 401 must not lose a step-up), less what was declined or refused.
 */
export const initialPlan = (facts: ScopeFacts): ScopePlan => {
  const challenged =
    facts.challenge?.scope && facts.challenge.scope.length > 0 ? facts.challenge.scope : undefined;
  const selection = selectScopes({
    configured: facts.config.configuredScopes,
    challenged,
    resourceScopesSupported: facts.resource?.scopesSupported,
    authServerScopesSupported: facts.authServer?.metadata.scopes_supported,
    offlineAccess: facts.config.offlineAccess,
  });
  const previous = facts.requestedSoFar.filter((s) => !facts.declined.includes(s));
  const fromSupported = selection.source === "scopes_supported";
  return {
    requested: unionScopes(
      fromSupported ? missingScopes(selection.scopes, facts.refused) : selection.scopes,
      missingScopes(previous, facts.refused),
    ),
    origin: selection.source,
    optional: selection.offlineAccessAdded ? ["offline_access"] : [],
    required: unionScopes(facts.config.configuredScopes, challenged ?? []),
  };
};

/**
 * Step-up (MCP "Step-Up Authorization Flow", SEP-2350): everything asked for or granted before,
 * plus what the challenge names; a challenge without scope falls back to the resource's
 * `scopes_supported`. Scopes the server refused before are not asked for again unless the
 * challenge itself names them.
 */
export const stepUpPlan = (facts: ScopeFacts, challenge: ChallengeInfo): ScopePlan => {
  const challenged =
    challenge.scope && challenge.scope.length > 0
      ? challenge.scope
      : missingScopes(facts.resource?.scopesSupported ?? [], facts.refused);
  const before = unionScopes(missingScopes(facts.requestedSoFar, facts.refused), facts.granted);
  return {
    requested: stepUpScopes(before, challenged),
    origin: "step-up",
    optional: facts.optional,
    required: unionScopes(facts.config.configuredScopes, challenged),
  };
};

/** The plan of a flow: a step-up keeps its union, any other flow plans afresh. */
export const planFor = (facts: ScopeFacts): ScopePlan =>
  facts.challenge !== undefined && isInsufficientScope(facts.challenge)
    ? stepUpPlan(facts, facts.challenge)
    : initialPlan(facts);

/** Scopes taken from scopes_supported and refused are dropped once, not forever. */
export const withoutScopePlan = (plan: ScopePlan | undefined): ScopePlan => ({
  requested: [],
  origin: "without-scope",
  optional: [],
  required: plan?.required ?? [],
});

type LoopFacts = Pick<AuthContext, "config" | "authorizations">;

/** The loop guard's refusal of this plan, or undefined when it may be authorized. */
export const authorizationRefused = (
  facts: LoopFacts,
  plan: ScopePlan | undefined,
): AuthorizationLoop | undefined =>
  authorizationRefusal(facts.config, facts.authorizations, plan?.requested ?? []);

/** May this plan be authorized once more? */
export const authorizationAllowed = (facts: LoopFacts, plan: ScopePlan | undefined): boolean =>
  authorizationRefused(facts, plan) === undefined;

/** The refusal a transition reports once `authorizationAllowed` said no. */
export const loopRefusal = (facts: LoopFacts, plan: ScopePlan | undefined): AuthorizationLoop =>
  authorizationRefused(facts, plan) ??
  new AuthorizationLoop({
    scopes: [...(plan?.requested ?? [])],
    attempts: authorizationsFor(facts.authorizations, plan?.requested ?? []),
    counted: "authorizations for this scope set",
  });

/**
 * The consent a flow that needs the user (a browser step, a user code) would ask for, when the
 * session may not prompt — `interaction: "never"`, a background session — or undefined when it
 * may. Judged once the plan is made, before any registration: the resource, the authorization
 * server and the scopes are known, nothing has been written.
 */
export const interactionRequired = (facts: {
  readonly serverUrl: string;
  readonly config: Pick<AuthConfig, "interaction">;
  readonly resource?: ResourceInfo | undefined;
  readonly authServer?: AuthServerInfo | undefined;
  readonly plan?: ScopePlan | undefined;
}): InteractionRequired | undefined =>
  facts.config.interaction === "allowed"
    ? undefined
    : new InteractionRequired({
        resource: facts.resource?.resource ?? facts.serverUrl,
        issuer: facts.authServer?.issuer,
        scopes: [...(facts.plan?.requested ?? [])],
      });

/** How the user takes part in an authorization-code flow. */
export type UserStepVerdict =
  /** A browser here: the authorization request, the loopback callback. */
  | "browser"
  /** No browser here (a headless user agent) and the server offers RFC 8628: a user code. */
  | "device"
  /** No browser here, and the server does not offer RFC 8628: the URL printed, the callback pasted. */
  | "browser without a display";

/**
 * The browser step or the device authorization grant: a user agent without a browser here
 * (`preferDeviceFlow`) takes the device grant when the authorization server offers it (RFC 8628
 * §4 metadata), and otherwise still the browser step (paste mode).
 */
export const userStepVerdict = (facts: {
  readonly config: Pick<AuthConfig, "preferDeviceFlow">;
  readonly authServer?: AuthServerInfo | undefined;
}): UserStepVerdict => {
  if (!facts.config.preferDeviceFlow) return "browser";
  return facts.authServer !== undefined && offersDeviceGrant(facts.authServer.metadata)
    ? "device"
    : "browser without a display";
};

/**
 * The resource's URI when it takes DPoP-bound access tokens only (RFC 9728 §2
 * `dpop_bound_access_tokens_required`): what every token step for it is told.
 */
export const resourceRequiringDpop = (resource: ResourceInfo | undefined): string | undefined =>
  resource?.dpopBoundTokensRequired === true ? resource.resource : undefined;

/** The authorization-server metadata as known, if it is still within its time to live. */
export const currentAuthServer = (
  facts: {
    readonly authServer?: AuthServerInfo | undefined;
    readonly config: Pick<AuthConfig, "metadataTtlMillis">;
  },
  now: number,
): AuthServerInfo | undefined =>
  facts.authServer !== undefined &&
  now - facts.authServer.discoveredAt < facts.config.metadataTtlMillis
    ? facts.authServer
    : undefined;

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

/** Refresh once on a 401; a token that a refresh after a 401 produced and still gets 401 re-authorizes. */
export const mayRefreshOn401 = (context: AuthContext): boolean =>
  context.token?.hasRefreshToken === true && context.token.obtainedBy !== "refresh-after-401";

/** No proactive refresh sooner than this after a token was issued, whatever its lifetime. */
export const minRefreshIntervalMillis = 1_000;

/**
 * The least a refresh goes ahead of expiry: `expires_in` counts whole seconds (RFC 6749 §5.1,
 * https://www.rfc-editor.org/rfc/rfc6749#section-5.1) and servers round a token's `exp` down to
 * the second it was issued in, so a token can expire up to a second before `expires_in` says —
 * and one more second for the refresh's own round trip.
 */
export const minRefreshAheadMillis = 2_000;

/**
 * When a token with a refresh token and a known expiry is due for a refresh ahead of expiry: its
 * expiry less a margin — the configured skew (60 s by default), for a shorter-lived token the
 * configured part of its lifetime (a tenth: one refresh per lifetime, where half-life refreshes
 * twice as often) but never under 2 s, and never over half its lifetime (a token is not "due"
 * the moment it arrives: no refresh loop) — and never within a second of issue. Undefined: never.
 */
export const refreshAheadAt = (
  token: TokenInfo,
  config: Pick<AuthConfig, "refreshSkewMillis" | "refreshAheadFraction">,
): number | undefined => {
  if (token.hasRefreshToken !== true || token.expiresAt === undefined) return undefined;
  const lifetime = token.expiresAt - token.obtainedAt;
  const ahead = Math.min(
    config.refreshSkewMillis,
    lifetime / 2,
    Math.max(lifetime * config.refreshAheadFraction, minRefreshAheadMillis),
  );
  return Math.max(token.expiresAt - ahead, token.obtainedAt + minRefreshIntervalMillis);
};

/**
 * When to refresh ahead of expiry, or undefined for never: no refresh token, no known expiry, a
 * token no request has used yet (an idle session refreshes nothing), or refreshes that already
 * failed for good.
 */
export const proactiveRefreshAt = (context: AuthContext): number | undefined => {
  const token = context.token;
  if (token === undefined || !context.tokenAccepted) return undefined;
  if (context.refreshFailures >= context.config.maxRefreshRetries) return undefined;
  return refreshAheadAt(token, context.config);
};

/** What the grant lacks of what was asked for, offline_access and other conveniences aside. */
export const declinedInGrant = (plan: ScopePlan | undefined, granted: Scopes): Scopes =>
  missingScopes(
    (plan?.requested ?? []).filter((s) => !plan?.optional.includes(s)),
    granted,
  );

/**
 * A failed authorization that was declined: the user's `access_denied` (RFC 6749 §4.1.2.1, or
 * RFC 8628 §3.5 for a device), or a final assertion refusal; `invalid_scope`, `server_error`,
 * `temporarily_unavailable` and the rest are the server's, and a later request may ask again.
 */
export const isDeclined = (error: AuthchartError): boolean =>
  (error._tag === "AuthorizationDenied" && error.error === "access_denied") ||
  // RFC 7523 §3.1: a refused assertion is final — the same workload asking for the same scopes
  // gets the same answer, so a later 403 for them is not sent again.
  error._tag === "AssertionRejected" ||
  error._tag === "DeviceAuthorizationDenied";

/** invalid_scope for scopes that came from scopes_supported: asked once more without a scope. */
export const scopesFromSupportedRefused = (
  plan: ScopePlan | undefined,
  error: AuthchartError,
): boolean =>
  plan?.origin === "scopes_supported" &&
  ((error._tag === "AuthorizationDenied" && error.error === "invalid_scope") ||
    (error._tag === "TokenRejected" && error.code === "invalid_scope"));

/**
 * A dynamically registered client the server no longer knows (invalid_client), or whose secret
 * expired (RFC 7591 §3.2.1), registers again — once per flow.
 */
export const dynamicClientRejected = (
  facts: { readonly client?: ClientInfo | undefined; readonly reregistered: boolean },
  error: AuthchartError,
): boolean =>
  facts.client?.kind === "dynamic" &&
  !facts.reregistered &&
  ((error._tag === "TokenRejected" && error.code === "invalid_client") ||
    error._tag === "ClientSecretExpired");

/** What a failed code exchange means to the authorization-code flow. */
export type CodeExchangeFailureVerdict = "client forgotten" | "scopes refused" | "final";

export const codeExchangeFailureVerdict = (
  facts: LoopFacts & {
    readonly client?: ClientInfo | undefined;
    readonly reregistered: boolean;
    readonly plan?: ScopePlan | undefined;
  },
  error: AuthchartError,
): CodeExchangeFailureVerdict => {
  if (dynamicClientRejected(facts, error)) return "client forgotten";
  if (
    scopesFromSupportedRefused(facts.plan, error) &&
    authorizationAllowed(facts, withoutScopePlan(facts.plan))
  )
    return "scopes refused";
  return "final";
};

// ------------------------------------------------------------------ classifiers
// One function decides what an event means; the machine has one guard per verdict, so the
// candidates of an event are mutually exclusive by construction (decisions.test.ts checks it
// over generated contexts).

/** What a 401 or 403 on a request means for the lifecycle, in `authorized`. */
export type ChallengeVerdict =
  /** It answered an older token (or none): retry with the current one. */
  | "older token"
  /** A step-up for a scope declined earlier in this session: refused, no prompt. */
  | "scope declined"
  /** 403 insufficient_scope: authorize for the union — never a refresh. */
  | "step-up"
  /** A step-up the loop guard refuses. */
  | "step-up looped"
  /** 401 on the current token with a refresh token that may be used. */
  | "refresh"
  /** 401 on the current token, and no refresh may help: authorize again. */
  | "re-authorize"
  /** A re-authorization the loop guard refuses. */
  | "re-authorization looped"
  /** A 403 that asks for no scope: nothing authorization can change. */
  | "forbidden";

export const challengeVerdict = (
  context: AuthContext,
  challenge: ChallengeInfo,
  tokenVersion: number | undefined,
): ChallengeVerdict => {
  if (isForOlderToken(context, tokenVersion)) return "older token";
  if (isInsufficientScope(challenge)) {
    if (declinedScopesIn(context, challenge).length > 0) return "scope declined";
    return authorizationAllowed(context, stepUpPlan(scopeFactsOf(context), challenge))
      ? "step-up"
      : "step-up looped";
  }
  if (challenge.status === 401) {
    if (mayRefreshOn401(context)) return "refresh";
    return authorizationAllowed(context, initialPlan({ ...scopeFactsOf(context), challenge }))
      ? "re-authorize"
      : "re-authorization looped";
  }
  return "forbidden";
};

/** What a request that found its token expired means, in `authorized`. */
export type ExpiryVerdict = "older token" | "refresh" | "re-authorize" | "re-authorization looped";

export const expiryVerdict = (context: AuthContext, tokenVersion: number): ExpiryVerdict => {
  if (isForOlderToken(context, tokenVersion)) return "older token";
  if (context.token?.hasRefreshToken === true) return "refresh";
  return authorizationAllowed(context, initialPlan(scopeFactsOf(context)))
    ? "re-authorize"
    : "re-authorization looped";
};

/** What a failed refresh means. */
export type RefreshFailureVerdict =
  /** invalid_grant: the refresh token is dead; tokens dropped, authorize again. */
  | "grant dead"
  /** invalid_client on a dynamic client: register again, then authorize. */
  | "client forgotten"
  /** A transient failure with retries left: back off and refresh again. */
  | "transient"
  /** Anything else: the held token stays in use until it expires. */
  | "final";

export const refreshFailureVerdict = (
  context: AuthContext,
  error: AuthchartError,
): RefreshFailureVerdict => {
  if (error._tag === "TokenRejected" && error.code === "invalid_grant") return "grant dead";
  if (dynamicClientRejected(context, error)) return "client forgotten";
  if (isTransient(error) && context.refreshFailures < context.config.maxRefreshRetries)
    return "transient";
  return "final";
};

/** Scopes for a trace entry: bounded, whatever a server made them (at most ~1000 characters). */
export const describeScopes = (scopes: Scopes | undefined): string => {
  const text = formatScope(scopes ?? []) ?? "(no scope parameter)";
  return text.length > 1000 ? `${text.slice(0, 1000)}… (${scopes?.length} scopes)` : text;
};
