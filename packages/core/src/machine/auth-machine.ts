/**
 * The authorization lifecycle of one protected MCP resource as an xstate v5 statechart: the
 * parent reads like MCP's lifecycle (restoring, unauthorized, obtaining, authorized, refreshing,
 * refreshBackoff, failed) and owns what outlives one authorization — the token's metadata, the
 * loop guard, answering waiting requests, adopting a newer stored token, cancellation, and the
 * one rule "back to the held token, else fail". Obtaining a token is the grant's child flow
 * (flows/). Every guard, action, actor and delay is named so the inspector and
 * `machine.toJSON()` show it; docs/state-diagram.md is generated from these definitions.
 *
 * Tags say what a state means to the outside: `quiet` (nothing in flight: persisted, waiters
 * settle), `busy` (a flow or refresh runs: requests wait), `serving` (requests carry the token),
 * `refreshing` (a refresh runs; one ahead of expiry lets the current token serve meanwhile).
 */
import { assertEvent, assign, emit, enqueueActions, fromPromise, setup } from "xstate";
import { missingScopes, unionScopes } from "../protocol/scopes.js";
import type { AppliedAdjustment } from "../quirks/profile.js";
import type { Adjusted, RefreshActorInput } from "./actors.js";
import { adjustmentEntry, notProvided, withoutAdjustments } from "./actors.js";
import {
  challengeVerdict,
  currentAuthServer,
  declinedInGrant,
  declinedScopesIn,
  describeScopes,
  expiryVerdict,
  grantCovers,
  initialPlan,
  isDeclined,
  loopRefusal,
  proactiveRefreshAt,
  refreshFailureVerdict,
  resourceRequiringDpop,
  scopeFactsOf,
  stepUpPlan,
} from "./decisions.js";
import {
  AccessForbidden,
  type AuthchartError,
  asAuthchartError,
  FlowCancelled,
  isRetryable,
  ScopeDeclined,
  StepDefect,
} from "./errors.js";
import { authorizationCodeFlow } from "./flows/authorization-code.js";
import { clientCredentialsFlow } from "./flows/client-credentials.js";
import { crossAppAccessFlow } from "./flows/cross-app-access.js";
import { deviceAuthorizationFlow } from "./flows/device-authorization.js";
import type { FlowInput, FlowOutput } from "./flows/flow.js";
import { jwtBearerFlow } from "./flows/jwt-bearer.js";
import { countAuthorization, forgetAuthorizations, noAuthorizations } from "./loop-guard.js";
import {
  type AuthContext,
  type AuthEmitted,
  type AuthEvent,
  type AuthInput,
  defaultAuthConfig,
  type GrantType,
  type TokenInfo,
  type TraceEntry,
} from "./model.js";
import { because } from "./vocabulary.js";

type TraceParams = Omit<TraceEntry, "type">;

/** The largest delay a timer can hold (setTimeout's 32-bit limit); the guard re-checks on fire. */
const maxDelay = 2_147_483_647;

const requestIdOf = (event: AuthEvent): string => {
  assertEvent(event, ["challenge.received", "token.expired"]);
  return event.requestId;
};

/** The verdict of the challenge this transition answers (decisions.ts: one classifier). */
const verdictOfChallenge = ({ context, event }: { context: AuthContext; event: AuthEvent }) => {
  assertEvent(event, "challenge.received");
  return challengeVerdict(context, event.challenge, event.tokenVersion);
};
const verdictOfExpiry = ({ context, event }: { context: AuthContext; event: AuthEvent }) => {
  assertEvent(event, "token.expired");
  return expiryVerdict(context, event.tokenVersion);
};
/** The typed failure a refresh's error event carries (anything else becomes a StepDefect). */
const refreshError = (event: object) =>
  asAuthchartError("refreshToken", "error" in event ? event.error : undefined);
const verdictOfRefreshFailure = ({ context, event }: { context: AuthContext; event: object }) =>
  refreshFailureVerdict(context, refreshError(event));

/** Grants that run without a user: each renewal is a token request, not a prompt. */
const withoutUser = (grant: GrantType) =>
  grant === "client_credentials" || grant === "jwt_bearer" || grant === "cross_app_access";

/** The output of the flow's done event. */
const flowOutputOf = (event: object): FlowOutput | undefined =>
  "output" in event ? (event.output as FlowOutput) : undefined;

/** What the flow invoked by `obtaining` starts from. */
const flowInput = (context: AuthContext): FlowInput => ({
  serverUrl: context.serverUrl,
  config: context.config,
  facts: scopeFactsOf(context),
  client: context.client,
  authorizations: context.authorizations,
  reregister: context.reregistered,
});

const lifecycle = setup({
  types: {
    context: {} as AuthContext,
    events: {} as AuthEvent,
    input: {} as AuthInput,
    emitted: {} as AuthEmitted,
  },
  actors: {
    authorizationCode: authorizationCodeFlow,
    clientCredentials: clientCredentialsFlow,
    jwtBearer: jwtBearerFlow,
    crossAppAccess: crossAppAccessFlow,
    deviceAuthorization: deviceAuthorizationFlow,
    refreshToken: fromPromise<Adjusted<TokenInfo>, RefreshActorInput>(notProvided("refreshToken")),
  },
  guards: {
    hasStoredToken: ({ context }) => context.token !== undefined,
    grantIs: ({ context }, params: { readonly grant: GrantType }) =>
      context.config.grant === params.grant,
    // challenge.received in `authorized`: one guard per verdict, mutually exclusive.
    challengeForOlderToken: (args) => verdictOfChallenge(args) === "older token",
    stepUpScopeDeclined: (args) => verdictOfChallenge(args) === "scope declined",
    stepUpAllowed: (args) => verdictOfChallenge(args) === "step-up",
    stepUpLooped: (args) => verdictOfChallenge(args) === "step-up looped",
    refreshOn401: (args) => verdictOfChallenge(args) === "refresh",
    reauthorizeOn401: (args) => verdictOfChallenge(args) === "re-authorize",
    reauthorizationOn401Looped: (args) => verdictOfChallenge(args) === "re-authorization looped",
    forbiddenWithoutScope: (args) => verdictOfChallenge(args) === "forbidden",
    // token.expired in `authorized`.
    expiredForOlderToken: (args) => verdictOfExpiry(args) === "older token",
    expiredWithRefreshToken: (args) => verdictOfExpiry(args) === "refresh",
    expiredReauthorize: (args) => verdictOfExpiry(args) === "re-authorize",
    expiredReauthorizationLooped: (args) => verdictOfExpiry(args) === "re-authorization looped",
    // a refresh's failure.
    refreshGrantDead: (args) => verdictOfRefreshFailure(args) === "grant dead",
    refreshClientForgotten: (args) => verdictOfRefreshFailure(args) === "client forgotten",
    refreshRetryAllowed: (args) => verdictOfRefreshFailure(args) === "transient",
    refreshFailedForGood: (args) => verdictOfRefreshFailure(args) === "final",
    // the flow's outcome.
    flowSucceeded: ({ event }) => flowOutputOf(event)?.ok === true,
    flowFailed: ({ event }) => flowOutputOf(event)?.ok === false,
    adoptedTokenIsNewer: ({ context, event }) => {
      assertEvent(event, "token.adopted");
      return (
        context.token !== undefined &&
        event.token.version > context.token.version &&
        event.token.resource === context.token.resource &&
        event.token.issuer === context.token.issuer &&
        event.token.clientId === context.token.clientId
      );
    },
    acceptedTokenIsNew: ({ context, event }) => {
      assertEvent(event, "token.accepted");
      return (
        context.token?.version === event.tokenVersion &&
        (!context.tokenAccepted || (event.proven === true && !context.tokenProven))
      );
    },
    // After retries were exhausted, no proactive refresh: the next request that needs one asks.
    refreshIsDue: ({ context }) => {
      const at = proactiveRefreshAt(context);
      return at !== undefined && at <= Date.now();
    },
    /** A failure a later request may try again: the network, or a browser step not finished. */
    failureIsRetryable: ({ context }) => context.error !== undefined && isRetryable(context.error),
    /**
     * A background session that needed the user: the next request looks again (the flow checks
     * the store, where a login elsewhere may have put a token), without a cool-down.
     */
    failedForInteraction: ({ context }) => context.error?._tag === "InteractionRequired",
    requestedScopesHeld: ({ context, event }) => {
      assertEvent(event, "session.authorize");
      return grantCovers(context, unionScopes(context.config.configuredScopes, event.scopes ?? []));
    },
  },
  delays: {
    /** Proactive refresh: the token's expiry minus the skew. */
    refreshDue: ({ context }) => {
      const at = proactiveRefreshAt(context);
      return at === undefined ? maxDelay : Math.min(maxDelay, Math.max(0, at - Date.now()));
    },
    /** Exponential backoff for transient refresh failures. */
    refreshBackoff: ({ context }) =>
      context.config.refreshBackoffMillis * 2 ** Math.max(0, context.refreshFailures - 1),
    /** How long a failed flow answers from its error before a request may start another. */
    retryCooldown: ({ context }) =>
      Math.min(
        context.config.maxRetryCooldownMillis,
        context.config.retryCooldownMillis * 2 ** Math.max(0, context.failedFlows - 1),
      ),
  },
  actions: {
    trace: emit((_, params: TraceParams) => ({ type: "trace" as const, ...params })),
    /** A quirk profile's adjustments of a request: one trace entry each (quirks/). */
    traceAdjustments: enqueueActions(
      ({ enqueue }, params: { readonly adjustments: readonly AppliedAdjustment[] }) => {
        for (const adjustment of params.adjustments)
          enqueue.emit({ type: "trace" as const, ...adjustmentEntry(adjustment) });
      },
    ),
    /** A child flow's decision, in the session's trace. */
    relayTrace: emit(({ event }) => {
      assertEvent(event, "flow.trace");
      return event.entry;
    }),
    answerRetry: emit(({ event }) => ({
      type: "challenge.answered" as const,
      requestId: requestIdOf(event),
      outcome: "retry" as const,
    })),
    answerWait: emit(({ event }) => ({
      type: "challenge.answered" as const,
      requestId: requestIdOf(event),
      outcome: "wait" as const,
    })),
    answerRefused: emit(({ event }, params: { readonly error: AuthchartError }) => ({
      type: "challenge.answered" as const,
      requestId: requestIdOf(event),
      outcome: "refused" as const,
      error: params.error,
    })),
    /** The request gets the failure the session is in. */
    refuseWithError: emit(({ context, event }) => ({
      type: "challenge.answered" as const,
      requestId: requestIdOf(event),
      outcome: "refused" as const,
      error: context.error ?? new FlowCancelled({ reason: "failed" }, true),
    })),
    /** In `authorized`: everyone who waited may go on, or gets the error of the flow that ended. */
    settleAuthorized: emit(({ context }) =>
      context.error === undefined
        ? { type: "settled" as const, outcome: "authorized" as const }
        : { type: "settled" as const, outcome: "failed" as const, error: context.error },
    ),
    /**
     * In `unauthorized` or `failed`: everyone who waited gets the failure, or — without one (a
     * logout, a stop) — each waiter its own FlowCancelled. No stand-in is built here: this runs on
     * every start, and an Error's stack cost more than the rest of the entry.
     */
    settleFailed: emit(({ context }) => ({
      type: "settled" as const,
      outcome: "failed" as const,
      error: context.error,
    })),
    rememberChallenge: assign({
      challenge: ({ event }) => {
        assertEvent(event, "challenge.received");
        return event.challenge;
      },
    }),
    rememberRequestedScopes: assign({
      config: ({ context, event }) => {
        assertEvent(event, "session.authorize");
        return event.scopes
          ? {
              ...context.config,
              configuredScopes: unionScopes(context.config.configuredScopes, event.scopes),
            }
          : context.config;
      },
      challenge: () => undefined,
    }),
    /** The flow started an authorization: the loop guard counts it for the session. */
    countAuthorization: assign(({ context, event }) => {
      assertEvent(event, "flow.authorizing");
      const refused = unionScopes(context.refused, event.refused);
      return {
        authorizations: countAuthorization(context.authorizations, event.plan.requested),
        requestedSoFar: missingScopes(
          unionScopes(context.requestedSoFar, event.plan.requested),
          refused,
        ),
        refused,
        scopes: event.plan,
      };
    }),
    /**
     * What the flow found out stays, whatever its outcome. A token bound to another authorization
     * server than the one the resource now names is not used again (RFC 8707; MCP: tokens are
     * bound to their issuer).
     */
    learn: assign(({ context }, params: { readonly output: FlowOutput }) => {
      const { learned } = params.output;
      const issuer = learned.authServer?.issuer;
      return {
        resource: learned.resource ?? context.resource,
        authServer: learned.authServer ?? context.authServer,
        client: learned.client,
        token: issuer !== undefined && context.token?.issuer !== issuer ? undefined : context.token,
      };
    }),
    assignToken: assign({
      // A re-registration is allowed once per flow: a flow that got its token has ended.
      reregistered: false,
      token: (_, params: { readonly token: TokenInfo }) => params.token,
      // A scope the server granted was not the one it refused.
      refused: ({ context }, params: { readonly token: TokenInfo }) =>
        missingScopes(context.refused, params.token.scopes),
      refreshFailures: 0,
      failedFlows: 0,
      tokenAccepted: false,
      tokenProven: false,
      error: undefined,
    }),
    /** What the grant lacks of what was asked: the user declined it, it is not asked for again. */
    recordDeclined: assign({
      declined: ({ context }) =>
        unionScopes(context.declined, declinedInGrant(context.scopes, context.token?.scopes ?? [])),
    }),
    /** The user denied the authorization (access_denied, and nothing else): not asked again. */
    recordRefusedScopes: assign({
      declined: ({ context }) =>
        context.error !== undefined && isDeclined(context.error)
          ? unionScopes(
              context.declined,
              missingScopes(context.scopes?.required ?? [], context.token?.scopes ?? []),
            )
          : context.declined,
    }),
    dropToken: assign({ token: undefined }),
    clearError: assign({ error: undefined }),
    assignError: assign({ error: (_, params: { readonly error: AuthchartError }) => params.error }),
    /** The resource accepted the current token: a refresh-after-401 token has proven itself. */
    markTokenAccepted: assign(({ context, event }) => {
      assertEvent(event, "token.accepted");
      const proven = event.proven === true && !context.tokenProven;
      return {
        token:
          context.token?.obtainedBy === "refresh-after-401"
            ? { ...context.token, obtainedBy: "refresh" as const }
            : context.token,
        tokenAccepted: true,
        tokenProven: context.tokenProven || event.proven === true,
        // For a grant without a user, a token that works ends the loop that produced it: its
        // plan's token requests are forgotten, so the session renews after every expiry (no
        // refresh token, RFC 6749 §4.4.3). A user is never prompted without bound: for the
        // authorization code and the device code the budget holds until the application calls
        // authorize() again.
        authorizations:
          proven && withoutUser(context.config.grant)
            ? forgetAuthorizations(context.authorizations, context.scopes?.requested ?? [])
            : context.authorizations,
      };
    }),
    markReregistering: assign({ reregistered: true, client: undefined }),
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
    resetLoopGuard: assign({
      authorizations: noAuthorizations,
      declined: [],
      refused: [],
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
      requestedSoFar: [],
      declined: [],
      refused: [],
      authorizations: noAuthorizations,
      error: undefined,
      reregistered: false,
      refreshFailures: 0,
      failedFlows: 0,
      tokenAccepted: false,
      tokenProven: false,
    }),
  },
});

/**
 * The grant's child flow inside `obtaining`: every flow ends the same way — success with what it
 * learned, or a typed error that goes through `fallingBack`.
 */
const runFlow = (
  src:
    | "authorizationCode"
    | "clientCredentials"
    | "jwtBearer"
    | "crossAppAccess"
    | "deviceAuthorization",
  grant: GrantType,
) =>
  lifecycle.createStateConfig({
    entry: {
      type: "trace",
      params: { decision: "grant", reason: `${grant}, as the client configuration says` },
    },
    invoke: {
      id: "flow",
      src,
      input: ({ context }) => flowInput(context),
      onDone: [
        {
          guard: "flowSucceeded",
          target: "#authchart.authorized",
          actions: [
            {
              type: "learn",
              params: ({ event }) => ({ output: event.output }),
            },
            {
              type: "assignToken",
              params: ({ event }) => ({ token: succeeded(event.output).token }),
            },
            "recordDeclined",
            {
              type: "trace",
              params: ({ context }) => {
                const declined = declinedInGrant(context.scopes, context.token?.scopes ?? []);
                return {
                  decision: "token",
                  reason: `granted ${describeScopes(context.token?.scopes)}${declined.length ? `; declined ${declined.join(" ")}, which will not be asked for again` : ""}`,
                  details: {
                    version: context.token?.version ?? 0,
                    refresh_token: context.token?.hasRefreshToken ?? false,
                  },
                };
              },
            },
          ],
        },
        {
          guard: "flowFailed",
          target: "#authchart.fallingBack",
          actions: [
            {
              type: "learn",
              params: ({ event }) => ({ output: event.output }),
            },
            {
              type: "assignError",
              params: ({ event }) => ({ error: failedWith(event.output) }),
            },
            "recordRefusedScopes",
            {
              type: "trace",
              params: ({ context }) => ({
                decision: "flow failed",
                reason: context.error?.message ?? "the flow failed",
              }),
            },
          ],
        },
      ],
      onError: {
        target: "#authchart.fallingBack",
        description: "The flow itself failed (a defect, not a step): a typed StepDefect.",
        actions: {
          type: "assignError",
          params: ({ event }) => ({ error: asAuthchartError(src, event.error) }),
        },
      },
    },
  });

export const authMachine = lifecycle.createMachine({
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
    refused: [],
    authorizations: noAuthorizations,
    refreshFailures: 0,
    reregistered: false,
    failedFlows: 0,
    tokenAccepted: false,
    tokenProven: false,
  }),
  on: {
    "session.logout": {
      target: ".unauthorized",
      description: "The application forgets the session; a running flow or refresh stops.",
      actions: [
        "forgetSession",
        { type: "trace", params: { decision: "logged out", reason: because.loggedOut } },
      ],
    },
  },
  states: {
    restoring: {
      tags: ["busy"],
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
      tags: ["quiet"],
      entry: "settleFailed",
      on: {
        "challenge.received": {
          target: "obtaining",
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
        "token.expired": { target: "obtaining", actions: "answerWait" },
        "session.authorize": {
          target: "obtaining",
          actions: [
            "rememberRequestedScopes",
            { type: "trace", params: { decision: "discover", reason: because.authorizeAhead } },
          ],
        },
      },
    },

    obtaining: {
      tags: ["busy"],
      description:
        "The configured grant's child flow runs; every request that needs a token waits for it.",
      // Each flow starts without the previous flow's error: an error at its end is its own.
      entry: "clearError",
      on: {
        "challenge.received": { actions: "answerWait" },
        "token.expired": { actions: "answerWait" },
        "flow.authorizing": { actions: "countAuthorization" },
        "flow.trace": { actions: "relayTrace" },
        "flow.cancel": [
          {
            guard: "hasStoredToken",
            target: "authorized",
            description: "Every waiting request was aborted; the token held stays in use.",
            actions: {
              type: "trace",
              params: { decision: "cancelled", reason: because.cancelledKeep },
            },
          },
          {
            target: "unauthorized",
            description: "Every waiting request was aborted and no token is held.",
            actions: [
              {
                type: "assignError",
                // Built for each cancel: an error value is never shared between two waiters.
                params: () => ({ error: new FlowCancelled({ reason: "no request is waiting" }) }),
              },
              { type: "trace", params: { decision: "cancelled", reason: because.cancelled } },
            ],
          },
        ],
      },
      initial: "choosingGrant",
      states: {
        choosingGrant: {
          always: [
            {
              guard: { type: "grantIs", params: { grant: "client_credentials" } },
              target: "clientCredentials",
            },
            { guard: { type: "grantIs", params: { grant: "jwt_bearer" } }, target: "jwtBearer" },
            {
              guard: { type: "grantIs", params: { grant: "cross_app_access" } },
              target: "crossAppAccess",
            },
            {
              guard: { type: "grantIs", params: { grant: "device_code" } },
              target: "deviceAuthorization",
            },
            { target: "authorizationCode" },
          ],
        },
        authorizationCode: runFlow("authorizationCode", "authorization_code"),
        clientCredentials: runFlow("clientCredentials", "client_credentials"),
        jwtBearer: runFlow("jwtBearer", "jwt_bearer"),
        crossAppAccess: runFlow("crossAppAccess", "cross_app_access"),
        deviceAuthorization: runFlow("deviceAuthorization", "device_code"),
      },
    },

    fallingBack: {
      tags: ["busy"],
      description:
        "Back to the held token, else fail — the one rule for every flow or refresh that ended in an error: the requests that waited get the error, every other request keeps using the token.",
      always: [{ guard: "hasStoredToken", target: "authorized" }, { target: "failed" }],
    },

    authorized: {
      tags: ["quiet", "serving"],
      entry: "settleAuthorized",
      after: {
        refreshDue: [
          {
            guard: "refreshIsDue",
            target: "refreshing",
            actions: [
              { type: "assignRefreshReason", params: { reason: "proactive" } },
              { type: "trace", params: { decision: "refresh", reason: because.refreshProactive } },
            ],
          },
          {
            target: "authorized",
            reenter: true,
            description: "The timer fired early (its delay is capped): armed again.",
          },
        ],
      },
      on: {
        "challenge.received": [
          {
            guard: "challengeForOlderToken",
            actions: [
              "answerRetry",
              { type: "trace", params: { decision: "retry", reason: because.olderToken } },
            ],
          },
          {
            guard: "stepUpScopeDeclined",
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
            guard: "stepUpAllowed",
            target: "obtaining",
            description:
              "403 insufficient_scope: a new authorization for granted ∪ requested ∪ challenged scopes — never a refresh, which cannot widen scope (RFC 6749 §6).",
            actions: [
              "rememberChallenge",
              "answerWait",
              {
                type: "trace",
                params: ({ context, event }) => ({
                  decision: "step-up",
                  reason: `403 insufficient_scope: authorizing for ${describeScopes(stepUpPlan(scopeFactsOf(context), event.challenge).requested)}; never a refresh, which cannot widen scope${context.token?.hasRefreshToken ? " (a refresh token is held and deliberately not used)" : ""}`,
                }),
              },
            ],
          },
          {
            guard: "stepUpLooped",
            actions: [
              {
                type: "answerRefused",
                params: ({ context, event }) => ({
                  error: loopRefusal(context, stepUpPlan(scopeFactsOf(context), event.challenge)),
                }),
              },
              { type: "trace", params: { decision: "loop guard", reason: because.stepUpLooped } },
            ],
          },
          {
            guard: "refreshOn401",
            target: "refreshing",
            actions: [
              "rememberChallenge",
              "answerWait",
              { type: "assignRefreshReason", params: { reason: "after-401" } },
              { type: "trace", params: { decision: "refresh", reason: because.refreshOn401 } },
            ],
          },
          {
            guard: "reauthorizeOn401",
            target: "obtaining",
            actions: [
              "rememberChallenge",
              // The reason reads the token, so it comes before dropToken.
              {
                type: "trace",
                params: ({ context }) => ({
                  decision: "re-authorize",
                  reason: context.token?.hasRefreshToken
                    ? "401 again on the token a refresh after a 401 produced, before it was ever accepted"
                    : "401 on the current token and no refresh token is held",
                }),
              },
              "dropToken",
              "answerWait",
            ],
          },
          {
            guard: "reauthorizationOn401Looped",
            actions: [
              {
                type: "answerRefused",
                params: ({ context, event }) => ({
                  error: loopRefusal(
                    context,
                    initialPlan({ ...scopeFactsOf(context), challenge: event.challenge }),
                  ),
                }),
              },
              {
                type: "trace",
                params: { decision: "loop guard", reason: because.reauthorizationLooped },
              },
            ],
          },
          {
            guard: "forbiddenWithoutScope",
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
          { guard: "expiredForOlderToken", actions: "answerRetry" },
          {
            guard: "expiredWithRefreshToken",
            target: "refreshing",
            actions: [
              "answerWait",
              { type: "assignRefreshReason", params: { reason: "expired" } },
              { type: "trace", params: { decision: "refresh", reason: because.refreshExpired } },
            ],
          },
          {
            guard: "expiredReauthorize",
            target: "obtaining",
            actions: [
              "dropToken",
              "answerWait",
              {
                type: "trace",
                params: { decision: "re-authorize", reason: because.reauthorizeExpired },
              },
            ],
          },
          {
            guard: "expiredReauthorizationLooped",
            actions: {
              type: "answerRefused",
              params: ({ context }) => ({
                error: loopRefusal(context, initialPlan(scopeFactsOf(context))),
              }),
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
            { type: "trace", params: { decision: "adopted", reason: because.adopted } },
          ],
        },
        "session.authorize": [
          {
            guard: "requestedScopesHeld",
            actions: [
              "clearError",
              "settleAuthorized",
              {
                type: "trace",
                params: { decision: "already authorized", reason: because.alreadyAuthorized },
              },
            ],
          },
          {
            target: "obtaining",
            actions: [
              "resetLoopGuard",
              "rememberRequestedScopes",
              { type: "trace", params: { decision: "discover", reason: because.authorizeMore } },
            ],
          },
        ],
      },
    },

    refreshing: {
      tags: ["busy", "refreshing"],
      entry: "clearError",
      on: {
        "challenge.received": { actions: "answerWait" },
        "token.expired": { actions: "answerWait" },
      },
      invoke: {
        id: "refreshToken",
        src: "refreshToken",
        input: ({ context }) => ({
          token: context.token,
          authServer: currentAuthServer(context, Date.now()),
          reason: context.refreshReason ?? "proactive",
          forAuthorizationCode: context.config.grant === "authorization_code",
          legacyServerUrl: context.resource?.legacy ? context.serverUrl : undefined,
          resourceRequiringDpop: resourceRequiringDpop(context.resource),
        }),
        onDone: {
          target: "authorized",
          actions: [
            {
              type: "assignToken",
              params: ({ event }) => ({ token: withoutAdjustments(event.output) }),
            },
            {
              type: "traceAdjustments",
              params: ({ event }) => ({ adjustments: event.output.adjustments ?? [] }),
            },
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
            guard: "refreshGrantDead",
            target: "obtaining",
            actions: [
              "dropToken",
              {
                type: "trace",
                params: { decision: "re-authorize", reason: because.refreshGrantDead },
              },
            ],
          },
          {
            guard: "refreshClientForgotten",
            target: "obtaining",
            actions: [
              "markReregistering",
              "dropToken",
              {
                type: "trace",
                params: { decision: "register again", reason: because.clientForgotten },
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
            guard: "refreshFailedForGood",
            target: "fallingBack",
            actions: [
              {
                type: "assignError",
                params: ({ event }) => ({ error: refreshError(event) }),
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
      tags: ["busy", "refreshing"],
      on: {
        "challenge.received": { actions: "answerWait" },
        "token.expired": { actions: "answerWait" },
      },
      after: { refreshBackoff: { target: "refreshing" } },
    },

    failed: {
      tags: ["quiet"],
      entry: [
        "countFailedFlow",
        {
          type: "trace",
          params: ({ context }) => ({
            decision: "failed",
            reason: context.error?.message ?? "unknown",
          }),
        },
        "settleFailed",
      ],
      // A failure a later request may retry (the network, a 5xx) is not retried by every request
      // that arrives: for a cool-down, doubling with each failed flow, requests get the failure
      // itself at once and nothing is sent (no discovery storm against a failing server).
      // InteractionRequired is not cooled down: what the next request does first is look in the
      // local store, and a user who just logged in elsewhere should not wait for a timer.
      initial: "coolingDown",
      states: {
        coolingDown: {
          always: {
            guard: "failedForInteraction",
            target: "ready",
            description:
              "InteractionRequired: no cool-down; the next request's flow looks in the store for a token obtained elsewhere.",
          },
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
            target: "obtaining",
            actions: ["rememberChallenge", "answerWait"],
          },
          {
            guard: "failedForInteraction",
            target: "obtaining",
            description:
              "A background session asks again: a login elsewhere may have stored a token since.",
            actions: ["rememberChallenge", "answerWait"],
          },
          { actions: "refuseWithError" },
        ],
        "token.expired": [
          { guard: "failureIsRetryable", target: "obtaining", actions: "answerWait" },
          { guard: "failedForInteraction", target: "obtaining", actions: "answerWait" },
          { actions: "refuseWithError" },
        ],
        "session.authorize": {
          target: "obtaining",
          actions: [
            "resetLoopGuard",
            "rememberRequestedScopes",
            { type: "trace", params: { decision: "discover", reason: because.authorizeAgain } },
          ],
        },
      },
    },
  },
});

/** The success of a flow the `flowSucceeded` guard admitted. */
function succeeded(output: unknown): Extract<FlowOutput, { ok: true }> {
  const flow = output as FlowOutput;
  if (!flow.ok) throw new StepDefect({ step: "authorizationCode", reason: "not a success" });
  return flow;
}

/** The error of a flow the `flowFailed` guard admitted. */
function failedWith(output: unknown): AuthchartError {
  const flow = output as FlowOutput;
  return flow.ok
    ? new StepDefect({ step: "authorizationCode", reason: "not a failure" })
    : flow.error;
}

export type AuthMachine = typeof authMachine;
