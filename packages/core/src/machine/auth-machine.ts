/**
 * The authorization lifecycle of one protected MCP resource as an xstate v5 statechart. Every
 * guard, action, actor and delay is named so the inspector and `machine.toJSON()` show it; the
 * shape is documented in model.ts and drawn in docs/state-diagram.md (generated from this file).
 */
import { and, assign, emit, setup } from "xstate";
import { canonicalResourceUri } from "../protocol/resource-uri.js";
import { missingScopes, unionScopes } from "../protocol/scopes.js";
import { actorPlaceholders } from "./actors.js";
import {
  authorizationAllowed,
  declinedInGrant,
  declinedScopesIn,
  describeScopes,
  dynamicClientRejected,
  grantCovers,
  initialPlan,
  isForOlderToken,
  isInsufficientScope,
  loopRefusal,
  mayRefreshOn401,
  proactiveRefreshAt,
  scopesFromSupportedRefused,
  stepUpPlan,
  withoutScopePlan,
} from "./decisions.js";
import {
  AccessForbidden,
  type AuthchartError,
  AuthorizationTimeout,
  asAuthchartError,
  FlowCancelled,
  isRetryable,
  isTransient,
  ScopeDeclined,
} from "./errors.js";
import { authorizationsFor, countAuthorization, noAuthorizations } from "./loop-guard.js";
import {
  type AuthContext,
  type AuthEmitted,
  type AuthEvent,
  type AuthInput,
  defaultAuthConfig,
  type TraceEntry,
} from "./model.js";

type ChallengeEvent = Extract<AuthEvent, { type: "challenge.received" }>;
type RequestEvent = Extract<AuthEvent, { type: "challenge.received" | "token.expired" }>;
type TraceParams = Omit<TraceEntry, "type">;

const errorOf = (step: string, event: { readonly error?: unknown }): AuthchartError =>
  asAuthchartError(step, event.error);

/** The largest delay a timer can hold (setTimeout's 32-bit limit); the guard re-checks on fire. */
const maxDelay = 2_147_483_647;

/**
 * Behaviour 10: every request waiting on an interactive flow was aborted. With a token still held
 * (a step-up nobody waits for) the session goes back to it; without one, to unauthorized.
 */
const cancelFlow = [
  {
    guard: "hasStoredToken",
    target: "#authchart.authorized",
    actions: {
      type: "trace",
      params: {
        decision: "cancelled",
        reason: "no request waits for this flow; the current token stays in use",
      },
    },
  },
  {
    target: "#authchart.unauthorized",
    actions: [
      {
        type: "assignError",
        params: { error: new FlowCancelled({ reason: "no request is waiting" }) },
      },
      {
        type: "trace",
        params: { decision: "cancelled", reason: "no request waits for this flow" },
      },
    ],
  },
] as const;

/** A request that arrives while a flow runs waits for it: nothing it sends is dropped silently. */
const whileBusy = {
  "challenge.received": { actions: "answerWait" },
  "token.expired": { actions: "answerWait" },
} as const;

/**
 * A step's typed failure ends the flow. With a token still held (a step-up the user denied, a
 * refresh that failed before expiry) the session goes back to `authorized`: the requests that
 * waited on this flow get the error, every other request keeps using the token. Without one, the
 * flow ends in `failed`.
 */
const failWith = (step: string) => {
  const assignStepError = {
    type: "assignError",
    params: ({ event }: { readonly event: { readonly error?: unknown } }) => ({
      error: errorOf(step, event),
    }),
  } as const;
  return [
    {
      guard: "hasStoredToken",
      target: "#authchart.authorized",
      actions: [
        assignStepError,
        "recordRefusedScopes",
        {
          type: "trace",
          params: ({ context }: { readonly context: AuthContext }) => ({
            decision: "flow failed",
            reason: `${context.error?.message ?? step}; the current token stays in use`,
          }),
        },
      ],
    },
    { target: "#authchart.failed", actions: assignStepError },
  ] as const;
};

export const authMachine = setup({
  types: {
    context: {} as AuthContext,
    events: {} as AuthEvent,
    input: {} as AuthInput,
    emitted: {} as AuthEmitted,
  },
  actors: actorPlaceholders,
  guards: {
    hasStoredToken: ({ context }) => context.token !== undefined,
    challengeForOlderToken: ({ context, event }) =>
      (event.type === "challenge.received" || event.type === "token.expired") &&
      isForOlderToken(context, event.tokenVersion),
    isInsufficientScope: ({ event }) =>
      event.type === "challenge.received" && isInsufficientScope(event.challenge),
    stepUpScopeDeclined: ({ context, event }) =>
      event.type === "challenge.received" && declinedScopesIn(context, event.challenge).length > 0,
    stepUpAllowed: ({ context, event }) =>
      event.type === "challenge.received" &&
      authorizationAllowed(context, stepUpPlan(context, event.challenge)),
    mayRefreshOn401: ({ context }) => mayRefreshOn401(context),
    refreshTokenHeld: ({ context }) => context.token?.hasRefreshToken === true,
    adoptedTokenIsNewer: ({ context, event }) =>
      event.type === "token.adopted" &&
      context.token !== undefined &&
      event.token.version > context.token.version &&
      event.token.resource === context.token.resource &&
      event.token.issuer === context.token.issuer &&
      event.token.clientId === context.token.clientId,
    acceptedTokenIsNew: ({ context, event }) =>
      event.type === "token.accepted" &&
      context.token?.version === event.tokenVersion &&
      !context.tokenAccepted,
    /** Judged with the new challenge's scopes, not the previous flow's. */
    reauthorizationAllowed: ({ context, event }) =>
      authorizationAllowed(
        context,
        initialPlan(
          event.type === "challenge.received"
            ? { ...context, challenge: event.challenge }
            : context,
        ),
      ),
    /** SPEC D8: the known metadata still describes this resource as the challenge sees it. */
    metadataCurrent: ({ context, event }) =>
      context.authServer !== undefined &&
      (event.type !== "challenge.received" ||
        event.challenge.resourceMetadata === undefined ||
        event.challenge.resourceMetadata === context.resource?.metadataUrl),
    isUnauthorized: ({ event }) =>
      event.type === "challenge.received" && event.challenge.status === 401,
    planAllowed: ({ context }) => authorizationAllowed(context, context.scopes),
    resourceMetadataMissing: ({ event }) =>
      asAuthchartError("discoverResource", (event as { error?: unknown }).error)._tag ===
      "ResourceMetadataNotFound",
    scopesFromSupportedRefused: ({ context, event }) =>
      scopesFromSupportedRefused(
        context,
        asAuthchartError("authorize", (event as { error?: unknown }).error),
      ) && authorizationAllowed(context, withoutScopePlan(context)),
    dynamicClientRejected: ({ context, event }) =>
      dynamicClientRejected(
        context,
        asAuthchartError("token", (event as { error?: unknown }).error),
      ),
    refreshGrantInvalid: ({ event }) => {
      const error = asAuthchartError("refreshToken", (event as { error?: unknown }).error);
      return error._tag === "TokenRejected" && error.code === "invalid_grant";
    },
    refreshRetryAllowed: ({ context, event }) =>
      isTransient(asAuthchartError("refreshToken", (event as { error?: unknown }).error)) &&
      context.refreshFailures < context.config.maxRefreshRetries,
    // After retries were exhausted, no proactive refresh: the next request that needs one asks.
    refreshIsDue: ({ context }) => {
      const at = proactiveRefreshAt(context);
      return at !== undefined && at <= Date.now();
    },
    /** A failure a later request may try again: the network, or a browser step not finished. */
    failureIsRetryable: ({ context }) => context.error !== undefined && isRetryable(context.error),
    requestedScopesHeld: ({ context, event }) =>
      event.type === "session.authorize" &&
      grantCovers(context, unionScopes(context.config.configuredScopes, event.scopes ?? [])),
  },
  delays: {
    /** Proactive refresh: the token's expiry minus the skew (behaviour 3). */
    refreshDue: ({ context }) => {
      const at = proactiveRefreshAt(context);
      return at === undefined ? maxDelay : Math.min(maxDelay, Math.max(0, at - Date.now()));
    },
    /** Exponential backoff for transient refresh failures. */
    refreshBackoff: ({ context }) =>
      context.config.refreshBackoffMillis * 2 ** Math.max(0, context.refreshFailures - 1),
    authorizationTimeout: ({ context }) => context.config.authorizationTimeoutMillis,
    /** How long a failed flow answers from its error before a request may start another. */
    retryCooldown: ({ context }) =>
      Math.min(
        context.config.maxRetryCooldownMillis,
        context.config.retryCooldownMillis * 2 ** Math.max(0, context.failedFlows - 1),
      ),
  },
  actions: {
    trace: emit((_, params: TraceParams) => ({ type: "trace" as const, ...params })),
    answerRetry: emit(({ event }) => ({
      type: "challenge.answered" as const,
      requestId: (event as RequestEvent).requestId,
      outcome: "retry" as const,
    })),
    answerWait: emit(({ event }) => ({
      type: "challenge.answered" as const,
      requestId: (event as RequestEvent).requestId,
      outcome: "wait" as const,
    })),
    answerRefused: emit(({ event }, params: { readonly error: AuthchartError }) => ({
      type: "challenge.answered" as const,
      requestId: (event as RequestEvent).requestId,
      outcome: "refused" as const,
      error: params.error,
    })),
    /** The request gets the failure the session is in. */
    refuseWithError: emit(({ context, event }) => ({
      type: "challenge.answered" as const,
      requestId: (event as RequestEvent).requestId,
      outcome: "refused" as const,
      error: context.error ?? new FlowCancelled({ reason: "failed" }),
    })),
    rememberChallenge: assign({
      challenge: ({ event }) => (event.type === "challenge.received" ? event.challenge : undefined),
    }),
    rememberRequestedScopes: assign({
      config: ({ context, event }) =>
        event.type === "session.authorize" && event.scopes
          ? {
              ...context.config,
              configuredScopes: unionScopes(context.config.configuredScopes, event.scopes),
            }
          : context.config,
      challenge: () => undefined,
    }),
    assignResource: assign({
      resource: (_, params: { readonly resource: AuthContext["resource"] }) => params.resource,
    }),
    assignLegacyResource: assign({
      resource: ({ context }) => {
        const canonical = canonicalResourceUri(context.serverUrl);
        return {
          resource: canonical.ok ? canonical.uri : context.serverUrl,
          metadataUrl: "(none: 2025-03-26 fallback)",
          authorizationServer: new URL(context.serverUrl).origin,
          legacy: true,
        };
      },
    }),
    assignAuthServer: assign({
      authServer: (_, params: { readonly authServer: AuthContext["authServer"] }) =>
        params.authServer,
    }),
    /** When the authorization server changed, the old client and token are not reused (SPEC R11 Δ, SEP-2352). */
    bindToIssuer: assign(({ context }) =>
      context.authServer !== undefined &&
      context.client !== undefined &&
      context.client.issuer !== context.authServer.issuer
        ? { client: undefined, token: undefined }
        : {},
    ),
    /** After discovery: a step-up keeps its union (S5); any other flow plans per S1-S3. */
    planScopes: assign({
      scopes: ({ context }) =>
        context.challenge !== undefined && isInsufficientScope(context.challenge)
          ? stepUpPlan(context, context.challenge)
          : initialPlan(context),
    }),
    planStepUp: assign({
      scopes: ({ context, event }) => stepUpPlan(context, (event as ChallengeEvent).challenge),
      challenge: ({ event }) => (event as ChallengeEvent).challenge,
    }),
    planWithoutScope: assign({ scopes: ({ context }) => withoutScopePlan(context) }),
    countAuthorization: assign({
      authorizations: ({ context }) =>
        countAuthorization(context.authorizations, context.scopes?.requested ?? []),
      requestedSoFar: ({ context }) =>
        unionScopes(context.requestedSoFar, context.scopes?.requested ?? []),
    }),
    assignClient: assign({
      client: (_, params: { readonly client: AuthContext["client"] }) => params.client,
    }),
    markReregistering: assign({ reregistered: true, client: undefined }),
    assignGrant: assign({
      pendingGrant: (_, params: { readonly grant: AuthContext["pendingGrant"] }) => params.grant,
    }),
    assignToken: assign({
      // A re-registration is allowed once per flow: a flow that got its token has ended.
      reregistered: false,
      token: (_, params: { readonly token: AuthContext["token"] }) => params.token,
      pendingGrant: undefined,
      refreshFailures: 0,
      failedFlows: 0,
      tokenAccepted: false,
      error: undefined,
    }),
    recordDeclined: assign({
      declined: ({ context }) =>
        unionScopes(context.declined, declinedInGrant(context.scopes, context.token?.scopes ?? [])),
    }),
    dropToken: assign({ token: undefined }),
    clearError: assign({ error: undefined }),
    /** The authorization server refused a flow for these scopes (a denied step-up): not asked again. */
    recordRefusedScopes: assign({
      declined: ({ context }) =>
        context.error?._tag === "AuthorizationDenied"
          ? unionScopes(
              context.declined,
              missingScopes(context.scopes?.required ?? [], context.token?.scopes ?? []),
            )
          : context.declined,
    }),
    /** The resource accepted the current token: a refresh-after-401 token has proven itself (T9). */
    markTokenAccepted: assign({
      token: ({ context }) =>
        context.token?.obtainedBy === "refresh-after-401"
          ? { ...context.token, obtainedBy: "refresh" as const }
          : context.token,
      tokenAccepted: true,
    }),
    countFailedFlow: assign({
      failedFlows: ({ context }) => Math.min(context.failedFlows + 1, 16),
    }),
    assignRefreshReason: assign({
      refreshReason: (_, params: { readonly reason: NonNullable<AuthContext["refreshReason"]> }) =>
        params.reason,
    }),
    stopProactiveRefresh: assign({
      refreshFailures: ({ context }) => context.config.maxRefreshRetries,
    }),
    countRefreshFailure: assign({ refreshFailures: ({ context }) => context.refreshFailures + 1 }),
    assignError: assign({
      error: (_, params: { readonly error: AuthchartError }) => params.error,
      pendingGrant: undefined,
    }),
    resetLoopGuard: assign({
      authorizations: noAuthorizations,
      declined: [],
      error: undefined,
      reregistered: false,
      failedFlows: 0,
    }),
    forgetSession: assign({
      resource: undefined,
      authServer: undefined,
      client: undefined,
      token: undefined,
      challenge: undefined,
      scopes: undefined,
      pendingGrant: undefined,
      requestedSoFar: [],
      declined: [],
      authorizations: noAuthorizations,
      error: undefined,
      reregistered: false,
      refreshFailures: 0,
      failedFlows: 0,
      tokenAccepted: false,
    }),
  },
}).createMachine({
  id: "authchart",
  initial: "restoring",
  context: ({ input }) => ({
    serverUrl: input.serverUrl,
    config: { ...defaultAuthConfig, ...input.config },
    resource: input.restored?.resource,
    authServer: input.restored?.authServer,
    client: input.restored?.client,
    token: input.restored?.token,
    requestedSoFar: input.restored?.token?.scopes ?? [],
    declined: [],
    authorizations: noAuthorizations,
    refreshFailures: 0,
    reregistered: false,
    failedFlows: 0,
    tokenAccepted: false,
  }),
  // A request waiting on a flow in progress is told to wait; nothing it sends is dropped silently.
  on: {
    "session.logout": {
      target: ".unauthorized",
      actions: [
        "forgetSession",
        {
          type: "trace",
          params: { decision: "logged out", reason: "the application asked to forget the session" },
        },
      ],
    },
  },
  states: {
    restoring: {
      always: [
        {
          guard: "hasStoredToken",
          target: "authorized",
          actions: {
            type: "trace",
            params: ({ context }) => ({
              decision: "restored",
              reason: `a stored token for ${context.token?.resource} is used without discovery`,
              details: { scopes: context.token?.scopes ?? [] },
            }),
          },
        },
        { target: "unauthorized" },
      ],
    },

    unauthorized: {
      on: {
        "challenge.received": {
          target: "discovering",
          actions: [
            "rememberChallenge",
            "answerWait",
            {
              type: "trace",
              params: ({ event }) => ({
                decision: "discover",
                reason: `the server answered ${event.challenge.status} to a request without a token`,
                details: {
                  scope: event.challenge.scope ?? [],
                  resource_metadata: event.challenge.resourceMetadata ?? "(none)",
                },
              }),
            },
          ],
        },
        "token.expired": { target: "discovering", actions: "answerWait" },
        "session.authorize": {
          target: "discovering",
          actions: [
            "rememberRequestedScopes",
            {
              type: "trace",
              params: {
                decision: "discover",
                reason: "the application asked to authorize ahead of time",
              },
            },
          ],
        },
      },
    },

    discovering: {
      // Each flow starts without the previous flow's error: an error at its end is its own.
      entry: "clearError",
      initial: "resourceMetadata",
      on: {
        ...whileBusy,
        "flow.cancel": cancelFlow,
      },
      states: {
        resourceMetadata: {
          invoke: {
            id: "discoverResource",
            src: "discoverResource",
            input: ({ context }) => ({
              serverUrl: context.serverUrl,
              resourceMetadataUrl: context.challenge?.resourceMetadata,
            }),
            onDone: {
              target: "authServerMetadata",
              actions: [
                { type: "assignResource", params: ({ event }) => ({ resource: event.output }) },
                {
                  type: "trace",
                  params: ({ event }) => ({
                    decision: "resource metadata",
                    reason: `found at ${event.output.metadataUrl}`,
                    details: {
                      authorization_server: event.output.authorizationServer,
                      resource: event.output.resource,
                    },
                  }),
                },
              ],
            },
            onError: [
              {
                guard: "resourceMetadataMissing",
                target: "authServerMetadata",
                actions: [
                  "assignLegacyResource",
                  {
                    type: "trace",
                    params: {
                      decision: "2025-03-26 fallback",
                      reason:
                        "no protected-resource metadata anywhere: the server's origin is the authorization server (SPEC D15)",
                    },
                  },
                ],
              },
              ...failWith("discoverResource"),
            ],
          },
        },
        authServerMetadata: {
          invoke: {
            id: "discoverAuthServer",
            src: "discoverAuthServer",
            input: ({ context }) => ({
              issuer: context.resource?.authorizationServer ?? new URL(context.serverUrl).origin,
              legacyServerUrl: context.resource?.legacy ? context.serverUrl : undefined,
            }),
            onDone: {
              target: "#authchart.registering",
              actions: [
                { type: "assignAuthServer", params: ({ event }) => ({ authServer: event.output }) },
                "bindToIssuer",
                "planScopes",
                {
                  type: "trace",
                  params: ({ context, event }) => ({
                    decision: "scopes",
                    reason: `asking for ${describeScopes(context.scopes?.requested)} (from ${context.scopes?.origin})`,
                    details: { metadata: event.output.metadataUrl, issuer: event.output.issuer },
                  }),
                },
              ],
            },
            onError: failWith("discoverAuthServer"),
          },
        },
      },
    },

    registering: {
      on: {
        ...whileBusy,
        "flow.cancel": cancelFlow,
      },
      invoke: {
        id: "register",
        src: "register",
        input: ({ context }) => ({
          issuer: context.authServer?.issuer ?? "",
          metadata: context.authServer?.metadata ?? ({} as never),
          scopes: context.scopes?.requested ?? [],
          forgetStored: context.reregistered,
        }),
        onDone: [
          {
            guard: "planAllowed",
            target: "authorizing",
            actions: [
              { type: "assignClient", params: ({ event }) => ({ client: event.output }) },
              {
                type: "trace",
                params: ({ event }) => ({
                  decision: "client",
                  reason: `${event.output.kind} client ${event.output.clientId}`,
                }),
              },
            ],
          },
          {
            target: "failed",
            actions: [
              { type: "assignClient", params: ({ event }) => ({ client: event.output }) },
              {
                type: "assignError",
                params: ({ context }) => ({ error: loopRefusal(context, context.scopes) }),
              },
            ],
          },
        ],
        onError: failWith("register"),
      },
    },

    authorizing: {
      entry: [
        "clearError",
        "countAuthorization",
        {
          type: "trace",
          params: ({ context }) => ({
            decision: "authorize",
            reason: `browser step for ${describeScopes(context.scopes?.requested)} (${context.scopes?.origin}), attempt ${authorizationsFor(context.authorizations, context.scopes?.requested ?? [])} of ${context.config.maxAuthorizationsPerScopeSet}`,
          }),
        },
      ],
      on: {
        ...whileBusy,
        "flow.cancel": cancelFlow,
      },
      after: {
        authorizationTimeout: [
          {
            // A step-up nobody completed: the token held stays in use.
            guard: "hasStoredToken",
            target: "authorized",
            actions: {
              type: "assignError",
              params: ({ context }) => ({
                error: new AuthorizationTimeout({
                  timeoutMillis: context.config.authorizationTimeoutMillis,
                }),
              }),
            },
          },
          {
            target: "failed",
            actions: {
              type: "assignError",
              params: ({ context }) => ({
                error: new AuthorizationTimeout({
                  timeoutMillis: context.config.authorizationTimeoutMillis,
                }),
              }),
            },
          },
        ],
      },
      invoke: {
        id: "authorize",
        src: "authorize",
        input: ({ context }) => ({
          issuer: context.authServer?.issuer ?? "",
          metadata: context.authServer?.metadata ?? ({} as never),
          clientId: context.client?.clientId ?? "",
          resource: context.resource?.resource ?? context.serverUrl,
          scopes: context.scopes?.requested ?? [],
        }),
        onDone: {
          target: "exchangingCode",
          actions: { type: "assignGrant", params: ({ event }) => ({ grant: event.output }) },
        },
        onError: [
          {
            guard: "scopesFromSupportedRefused",
            target: "authorizing",
            reenter: true,
            actions: [
              "planWithoutScope",
              {
                type: "trace",
                params: {
                  decision: "retry without scope",
                  reason:
                    "the scopes taken from scopes_supported were refused with invalid_scope; asking once more without a scope parameter",
                },
              },
            ],
          },
          ...failWith("authorize"),
        ],
      },
    },

    exchangingCode: {
      on: {
        ...whileBusy,
      },
      invoke: {
        id: "exchangeCode",
        src: "exchangeCode",
        input: ({ context }) => ({
          issuer: context.authServer?.issuer ?? "",
          metadata: context.authServer?.metadata ?? ({} as never),
          clientId: context.client?.clientId ?? "",
          grant: context.pendingGrant as never,
        }),
        onDone: {
          target: "authorized",
          actions: [
            { type: "assignToken", params: ({ event }) => ({ token: event.output }) },
            "recordDeclined",
            {
              type: "trace",
              params: ({ context, event }) => ({
                decision: "token",
                reason: `granted ${describeScopes(event.output.scopes)}${declinedInGrant(context.scopes, event.output.scopes).length ? `; declined ${declinedInGrant(context.scopes, event.output.scopes).join(" ")}, which will not be asked for again` : ""}`,
                details: {
                  version: event.output.version,
                  refresh_token: event.output.hasRefreshToken,
                },
              }),
            },
          ],
        },
        onError: [
          {
            guard: "dynamicClientRejected",
            target: "registering",
            actions: [
              "markReregistering",
              {
                type: "trace",
                params: {
                  decision: "register again",
                  reason:
                    "the token endpoint no longer knows the dynamically registered client (invalid_client)",
                },
              },
            ],
          },
          {
            guard: "scopesFromSupportedRefused",
            target: "authorizing",
            actions: [
              "planWithoutScope",
              {
                type: "trace",
                params: {
                  decision: "retry without scope",
                  reason: "the token endpoint refused the scopes taken from scopes_supported",
                },
              },
            ],
          },
          ...failWith("exchangeCode"),
        ],
      },
    },

    authorized: {
      after: {
        refreshDue: [
          {
            guard: "refreshIsDue",
            target: "refreshing",
            actions: [
              { type: "assignRefreshReason", params: { reason: "proactive" } },
              {
                type: "trace",
                params: {
                  decision: "refresh",
                  reason: "the access token expires soon: proactive refresh",
                },
              },
            ],
          },
          { target: "authorized", reenter: true },
        ],
      },
      on: {
        "challenge.received": [
          {
            guard: "challengeForOlderToken",
            actions: [
              "answerRetry",
              {
                type: "trace",
                params: {
                  decision: "retry",
                  reason:
                    "the challenge answered an older token; retrying with the current one (rejected-token attribution)",
                },
              },
            ],
          },
          {
            guard: and(["isInsufficientScope", "stepUpScopeDeclined"]),
            actions: [
              {
                type: "answerRefused",
                params: ({ context, event }) => ({
                  error: new ScopeDeclined({ missing: declinedScopesIn(context, event.challenge) }),
                }),
              },
              {
                type: "trace",
                params: ({ context, event }) => ({
                  decision: "refuse step-up",
                  reason: `${declinedScopesIn(context, event.challenge).join(" ")} was declined earlier in this session; not prompting again`,
                }),
              },
            ],
          },
          {
            guard: and(["isInsufficientScope", "stepUpAllowed", "metadataCurrent"]),
            target: "authorizing",
            actions: [
              "planStepUp",
              "answerWait",
              {
                type: "trace",
                params: ({ context }) => ({
                  decision: "step-up",
                  reason: `403 insufficient_scope: authorizing for ${describeScopes(context.scopes?.requested)}; never a refresh, which cannot widen scope${context.token?.hasRefreshToken ? " (a refresh token is held and deliberately not used)" : ""}`,
                }),
              },
            ],
          },
          {
            // The authorization server's metadata is not known (restored past its time to live)
            // or the challenge names other resource metadata (SPEC D8): discover first.
            guard: and(["isInsufficientScope", "stepUpAllowed"]),
            target: "discovering",
            actions: [
              "rememberChallenge",
              "answerWait",
              {
                type: "trace",
                params: {
                  decision: "step-up",
                  reason:
                    "403 insufficient_scope; the metadata is stale or the challenge names other resource metadata, so discovering first (never a refresh)",
                },
              },
            ],
          },
          {
            guard: "isInsufficientScope",
            actions: [
              {
                type: "answerRefused",
                params: ({ context, event }) => ({
                  error: loopRefusal(context, stepUpPlan(context, event.challenge)),
                }),
              },
              {
                type: "trace",
                params: {
                  decision: "loop guard",
                  reason:
                    "403 insufficient_scope again after the allowed number of authorizations for this scope set",
                },
              },
            ],
          },
          {
            guard: and(["isUnauthorized", "mayRefreshOn401"]),
            target: "refreshing",
            actions: [
              "rememberChallenge",
              "answerWait",
              { type: "assignRefreshReason", params: { reason: "after-401" } },
              {
                type: "trace",
                params: {
                  decision: "refresh",
                  reason: "401 on the current token and a refresh token is held",
                },
              },
            ],
          },
          {
            guard: and(["isUnauthorized", "reauthorizationAllowed"]),
            target: "discovering",
            actions: [
              "rememberChallenge",
              // The reason reads the token, so it comes before dropToken.
              {
                type: "trace",
                params: ({ context }) => ({
                  decision: "re-authorize",
                  reason: context.token?.hasRefreshToken
                    ? "401 again on the token a refresh after a 401 produced, before it was ever accepted (SPEC T9)"
                    : "401 on the current token and no refresh token is held",
                }),
              },
              "dropToken",
              "answerWait",
            ],
          },
          {
            guard: "isUnauthorized",
            actions: [
              {
                type: "answerRefused",
                params: ({ context, event }) => ({
                  error: loopRefusal(
                    context,
                    initialPlan({ ...context, challenge: event.challenge }),
                  ),
                }),
              },
              {
                type: "trace",
                params: {
                  decision: "loop guard",
                  reason: "401 again after the allowed number of authorizations",
                },
              },
            ],
          },
          {
            // A 403 that asks for no scope: nothing authorization can change.
            actions: {
              type: "answerRefused",
              params: ({ event }) => ({
                error: new AccessForbidden({
                  status: event.challenge.status,
                  error: event.challenge.error,
                }),
              }),
            },
          },
        ],
        "token.expired": [
          { guard: "challengeForOlderToken", actions: "answerRetry" },
          {
            guard: "refreshTokenHeld",
            target: "refreshing",
            actions: [
              "answerWait",
              { type: "assignRefreshReason", params: { reason: "expired" } },
              {
                type: "trace",
                params: {
                  decision: "refresh",
                  reason: "the access token expired before a request could use it",
                },
              },
            ],
          },
          {
            guard: "reauthorizationAllowed",
            target: "discovering",
            actions: [
              "dropToken",
              "answerWait",
              {
                type: "trace",
                params: {
                  decision: "re-authorize",
                  reason: "the access token expired and no refresh token is held",
                },
              },
            ],
          },
          {
            actions: {
              type: "answerRefused",
              params: ({ context }) => ({ error: loopRefusal(context, initialPlan(context)) }),
            },
          },
        ],
        "token.accepted": {
          // Re-entered so that the proactive refresh timer is armed now that the token is in use.
          guard: "acceptedTokenIsNew",
          target: "authorized",
          reenter: true,
          actions: "markTokenAccepted",
        },
        "token.adopted": {
          guard: "adoptedTokenIsNewer",
          target: "authorized",
          reenter: true,
          actions: [
            { type: "assignToken", params: ({ event }) => ({ token: event.token }) },
            {
              type: "trace",
              params: {
                decision: "adopted",
                reason:
                  "the store holds a newer token (refreshed elsewhere); using it instead of refreshing again",
              },
            },
          ],
        },
        "session.authorize": [
          {
            guard: "requestedScopesHeld",
            actions: [
              "clearError",
              {
                type: "trace",
                params: {
                  decision: "already authorized",
                  reason: "the current token holds every scope asked for",
                },
              },
            ],
          },
          {
            target: "discovering",
            actions: [
              "resetLoopGuard",
              "rememberRequestedScopes",
              {
                type: "trace",
                params: {
                  decision: "discover",
                  reason: "the application asked for scopes the current token lacks",
                },
              },
            ],
          },
        ],
      },
    },

    refreshing: {
      entry: "clearError",
      on: {
        ...whileBusy,
      },
      invoke: {
        id: "refreshToken",
        src: "refreshToken",
        input: ({ context }) => ({
          issuer: context.authServer?.issuer ?? context.token?.issuer ?? "",
          metadata: context.authServer?.metadata ?? ({} as never),
          clientId: context.token?.clientId ?? context.client?.clientId ?? "",
          resource: context.token?.resource ?? context.resource?.resource ?? context.serverUrl,
          reason: context.refreshReason ?? "proactive",
          legacyServerUrl: context.resource?.legacy ? context.serverUrl : undefined,
        }),
        onDone: {
          target: "authorized",
          actions: [
            { type: "assignToken", params: ({ event }) => ({ token: event.output }) },
            {
              type: "trace",
              params: ({ event }) => ({
                decision: "refreshed",
                reason: `a new access token; scope ${describeScopes(event.output.scopes)}`,
              }),
            },
          ],
        },
        onError: [
          {
            guard: "refreshGrantInvalid",
            target: "discovering",
            actions: [
              "dropToken",
              {
                type: "trace",
                params: {
                  decision: "re-authorize",
                  reason: "the refresh token was rejected (invalid_grant): tokens dropped",
                },
              },
            ],
          },
          {
            // Through discovery: a restored session may lack metadata and a scope plan.
            guard: "dynamicClientRejected",
            target: "discovering",
            actions: [
              "markReregistering",
              "dropToken",
              {
                type: "trace",
                params: {
                  decision: "register again",
                  reason:
                    "the token endpoint no longer knows the dynamically registered client (invalid_client)",
                },
              },
            ],
          },
          {
            guard: "refreshRetryAllowed",
            target: "refreshBackoff",
            actions: [
              "countRefreshFailure",
              {
                type: "trace",
                params: ({ context }) => ({
                  decision: "retry refresh",
                  reason: `transient failure ${context.refreshFailures} of ${context.config.maxRefreshRetries}; backing off`,
                }),
              },
            ],
          },
          {
            // A refresh always holds a token: the session goes back to it, and the requests that
            // waited on this refresh get the error (no proactive retry after this, see refreshIsDue).
            target: "authorized",
            actions: [
              {
                type: "assignError",
                params: ({ event }) => ({ error: errorOf("refreshToken", event) }),
              },
              // No proactive retry of a refresh that failed for good; the next request that needs
              // one asks (and a new token starts afresh).
              "stopProactiveRefresh",
              {
                type: "trace",
                params: ({ context }) => ({
                  decision: "refresh failed",
                  reason: `${context.error?.message ?? "refresh failed"}; the current token stays in use until it expires`,
                }),
              },
            ],
          },
        ],
      },
    },

    refreshBackoff: {
      on: {
        ...whileBusy,
      },
      after: { refreshBackoff: { target: "refreshing" } },
    },

    failed: {
      entry: [
        "countFailedFlow",
        {
          type: "trace",
          params: ({ context }) => ({
            decision: "failed",
            reason: context.error?.message ?? "unknown",
          }),
        },
      ],
      // A failure a later request may retry (the network, a 5xx) is not retried by every request
      // that arrives: for a cool-down, doubling with each failed flow, requests get the failure
      // itself at once and nothing is sent (no discovery storm against a failing server).
      initial: "coolingDown",
      states: {
        coolingDown: {
          after: { retryCooldown: { target: "ready" } },
          on: {
            "challenge.received": { actions: "refuseWithError" },
            "token.expired": { actions: "refuseWithError" },
          },
        },
        ready: {},
      },
      on: {
        "challenge.received": [
          {
            guard: "failureIsRetryable",
            target: "discovering",
            actions: ["rememberChallenge", "answerWait"],
          },
          {
            actions: {
              type: "answerRefused",
              params: ({ context }) => ({
                error: context.error ?? new FlowCancelled({ reason: "failed" }),
              }),
            },
          },
        ],
        "token.expired": [
          { guard: "failureIsRetryable", target: "discovering", actions: "answerWait" },
          {
            actions: {
              type: "answerRefused",
              params: ({ context }) => ({
                error: context.error ?? new FlowCancelled({ reason: "failed" }),
              }),
            },
          },
        ],
        "session.authorize": {
          target: "discovering",
          actions: [
            "resetLoopGuard",
            "rememberRequestedScopes",
            {
              type: "trace",
              params: {
                decision: "discover",
                reason: "the application asked to authorize again after a failure",
              },
            },
          ],
        },
      },
    },
  },
});

export type AuthMachine = typeof authMachine;
