/**
 * The authorization-code grant as a child flow of the lifecycle (MCP "Authorization Flow Steps"):
 * resource metadata (RFC 9728) → authorization-server metadata (RFC 8414) → a scope plan the loop
 * guard allows → a client (pre-registered, client-ID metadata document or RFC 7591 registration)
 * → the authorization request (PKCE S256, state, resource, scope; RFC 6749 §4.1, RFC 7636, RFC
 * 8707) → the code exchange. Its once-only retries live here: without the scopes taken from
 * `scopes_supported` when they are refused, and a new registration when the token endpoint no
 * longer knows a dynamic client. So does the browser step's timeout.
 *
 * Typed input from the parent, a typed output to it ({@link FlowOutput}): the token's metadata and
 * what the flow learned, or a typed error. The authorization code and its verifier travel on the
 * `authorize` actor's done event straight into `exchangingCode` and are in no context. While it
 * runs, the flow reports to its parent each authorization it starts (the loop guard counts it for
 * the session) and each decision (the parent's trace).
 */
import { assertEvent, assign, fromPromise, sendParent, setup } from "xstate";
import { missingScopes, unionScopes } from "../../protocol/scopes.js";
import type { AuthorizationGrant } from "../../steps/authorize.js";
import type {
  AuthorizeActorInput,
  DiscoverAuthServerActorInput,
  DiscoverResourceActorInput,
  ExchangeCodeActorInput,
  RegisterActorInput,
} from "../actors.js";
import { notProvided } from "../actors.js";
import {
  authorizationRefused,
  codeExchangeFailureVerdict,
  currentAuthServer,
  describeScopes,
  planFor,
  type ScopeFacts,
  scopesFromSupportedRefused,
  withoutScopePlan,
} from "../decisions.js";
import {
  type AuthchartError,
  AuthorizationTimeout,
  asAuthchartError,
  StepDefect,
} from "../errors.js";
import { type AuthorizationCounts, authorizationsFor, countAuthorization } from "../loop-guard.js";
import type {
  AuthConfig,
  AuthServerInfo,
  ClientInfo,
  FlowReport,
  ResourceInfo,
  ScopePlan,
  TokenInfo,
  TraceEntry,
} from "../model.js";
import { because } from "../vocabulary.js";
import type { FlowInput, FlowOutput } from "./flow.js";

export interface FlowContext extends ScopeFacts {
  readonly serverUrl: string;
  readonly config: AuthConfig;
  readonly client?: ClientInfo | undefined;
  /** The session's loop-guard counters, counted on here for this flow's own retries. */
  readonly authorizations: AuthorizationCounts;
  readonly plan?: ScopePlan | undefined;
  /** The next registration forgets the stored client first. */
  readonly forgetClient: boolean;
  /** The client was registered again in this flow already: not twice. */
  readonly reregistered: boolean;
  readonly token?: TokenInfo | undefined;
  readonly error?: AuthchartError | undefined;
}

type TraceParams = Omit<TraceEntry, "type">;

/**
 * A fact an earlier state established (the guards and the state order guarantee it); its
 * absence is a defect of this machine, reported as one, never papered over with a default.
 */
const established = <A>(value: A | undefined, what: string): A => {
  if (value === undefined)
    throw new StepDefect({ step: "authorizationCode", reason: `${what} is not known yet` });
  return value;
};

/** The typed failure an actor's error event carries (anything else becomes a StepDefect). */
const errorOf = (step: string, event: object): AuthchartError =>
  asAuthchartError(step, "error" in event ? event.error : undefined);

/** What the flow learned, whatever its outcome. */
const learnedOf = (context: FlowContext) => ({
  resource: context.resource,
  authServer: context.authServer,
  client: context.client,
});

export const authorizationCodeFlow = setup({
  types: {
    context: {} as FlowContext,
    input: {} as FlowInput,
    output: {} as FlowOutput,
  },
  actors: {
    discoverResource: fromPromise<ResourceInfo, DiscoverResourceActorInput>(
      notProvided("discoverResource"),
    ),
    discoverAuthServer: fromPromise<AuthServerInfo, DiscoverAuthServerActorInput>(
      notProvided("discoverAuthServer"),
    ),
    register: fromPromise<ClientInfo, RegisterActorInput>(notProvided("register")),
    authorize: fromPromise<AuthorizationGrant, AuthorizeActorInput>(notProvided("authorize")),
    exchangeCode: fromPromise<TokenInfo, ExchangeCodeActorInput>(notProvided("exchangeCode")),
  },
  guards: {
    /**
     * A step-up with metadata the session knows and may still use (within its time to live, and
     * the challenge names no other resource metadata — MCP "Step-Up Authorization Flow"), and a
     * client of that issuer: straight to the authorization request.
     */
    knownMetadataServesStepUp: ({ context }) =>
      context.challenge?.status === 403 &&
      context.challenge.error === "insufficient_scope" &&
      context.resource !== undefined &&
      currentAuthServer(context, Date.now()) !== undefined &&
      context.client?.issuer === context.authServer?.issuer &&
      (context.challenge.resourceMetadata === undefined ||
        context.challenge.resourceMetadata === context.resource.metadataUrl),
    resourceMetadataMissing: ({ event }) => {
      assertEvent(event, "xstate.error.actor.discoverResource");
      return errorOf("discoverResource", event)._tag === "ResourceMetadataNotFound";
    },
    planRefused: ({ context }) => authorizationRefused(context, context.plan) !== undefined,
    scopesFromSupportedRefused: ({ context, event }) => {
      assertEvent(event, "xstate.error.actor.authorize");
      return (
        scopesFromSupportedRefused(context.plan, errorOf("authorize", event)) &&
        authorizationRefused(context, withoutScopePlan(context.plan)) === undefined
      );
    },
    exchangeFailure: ({ context, event }, params: { readonly verdict: string }) => {
      assertEvent(event, "xstate.error.actor.exchangeCode");
      return codeExchangeFailureVerdict(context, errorOf("exchangeCode", event)) === params.verdict;
    },
  },
  delays: {
    authorizationTimeout: ({ context }) => context.config.authorizationTimeoutMillis,
  },
  actions: {
    trace: sendParent(
      (_, params: TraceParams): FlowReport => ({
        type: "flow.trace",
        entry: { type: "trace", ...params },
      }),
    ),
    assignResource: assign({
      resource: ({ event }) => {
        assertEvent(event, "xstate.done.actor.discoverResource");
        return event.output;
      },
    }),
    assignLegacyResource: assign({
      resource: ({ context }) => ({
        resource: context.serverUrl,
        metadataUrl: "(none: 2025-03-26 fallback)",
        authorizationServer: new URL(context.serverUrl).origin,
        legacy: true,
      }),
    }),
    /** A client of another issuer is not used here (RFC 9207; MCP: one client per issuer). */
    assignAuthServer: assign(({ context, event }) => {
      assertEvent(event, "xstate.done.actor.discoverAuthServer");
      return {
        authServer: event.output,
        client: context.client?.issuer === event.output.issuer ? context.client : undefined,
      };
    }),
    assignPlan: assign({ plan: ({ context }) => planFor(context) }),
    assignClient: assign({
      client: ({ event }) => {
        assertEvent(event, "xstate.done.actor.register");
        return event.output;
      },
      forgetClient: false,
    }),
    /** Counted here for this flow's own retries, and reported for the session's loop guard. */
    countAuthorization: assign({
      authorizations: ({ context }) =>
        countAuthorization(context.authorizations, context.plan?.requested ?? []),
    }),
    reportAuthorizing: sendParent(
      ({ context }): FlowReport => ({
        type: "flow.authorizing",
        plan: established(context.plan, "the scope plan"),
        refused: context.refused,
      }),
    ),
    /**
     * The scopes taken from scopes_supported were refused (invalid_scope): which one is unknown,
     * so none of them that the grant or the request does not need is asked for again.
     */
    planWithoutScope: assign(({ context }) => ({
      refused: unionScopes(
        context.refused,
        missingScopes(
          context.plan?.requested ?? [],
          unionScopes(context.granted, context.plan?.required ?? []),
        ),
      ),
      plan: withoutScopePlan(context.plan),
    })),
    markReregistering: assign({ forgetClient: true, reregistered: true, client: undefined }),
    assignToken: assign({
      token: ({ event }) => {
        assertEvent(event, "xstate.done.actor.exchangeCode");
        return event.output;
      },
    }),
    assignError: assign({ error: (_, params: { readonly error: AuthchartError }) => params.error }),
  },
}).createMachine({
  id: "authorizationCode",
  description:
    "The authorization-code grant with PKCE: discovery, a client, the browser step, the code exchange.",
  context: ({ input }) => ({
    ...input.facts,
    serverUrl: input.serverUrl,
    config: input.config,
    client: input.client,
    authorizations: input.authorizations,
    forgetClient: input.reregister,
    reregistered: input.reregister,
  }),
  initial: "starting",
  output: ({ context }): FlowOutput =>
    context.token !== undefined
      ? { ok: true, token: context.token, plan: context.plan, learned: learnedOf(context) }
      : {
          ok: false,
          error:
            context.error ??
            new StepDefect({ step: "authorizationCode", reason: "the flow ended without a token" }),
          plan: context.plan,
          learned: learnedOf(context),
        },
  states: {
    starting: {
      always: [
        {
          guard: "knownMetadataServesStepUp",
          target: "reusingMetadata",
          actions: {
            type: "trace",
            params: { decision: "metadata reused", reason: because.metadataReused },
          },
        },
        { target: "resourceMetadata" },
      ],
    },

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
            "assignResource",
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
            description:
              "No protected-resource metadata anywhere: MCP 2025-03-26 servers are their own authorization server.",
            actions: [
              "assignLegacyResource",
              {
                type: "trace",
                params: { decision: "2025-03-26 fallback", reason: because.legacyFallback },
              },
            ],
          },
          {
            target: "failed",
            actions: {
              type: "assignError",
              params: ({ event }) => ({ error: errorOf("discoverResource", event) }),
            },
          },
        ],
      },
    },

    authServerMetadata: {
      invoke: {
        id: "discoverAuthServer",
        src: "discoverAuthServer",
        input: ({ context }) => {
          const resource = established(context.resource, "the resource");
          return {
            issuer: resource.authorizationServer,
            legacyServerUrl: resource.legacy ? context.serverUrl : undefined,
          };
        },
        onDone: {
          target: "planning",
          actions: "assignAuthServer",
        },
        onError: {
          target: "failed",
          actions: {
            type: "assignError",
            params: ({ event }) => ({ error: errorOf("discoverAuthServer", event) }),
          },
        },
      },
    },

    planning: {
      description:
        "The scope plan, judged by the loop guard before any registration or authorization request.",
      entry: [
        "assignPlan",
        {
          type: "trace",
          params: ({ context }) => ({
            decision: "scopes",
            reason: `asking for ${describeScopes(context.plan?.requested)} (from ${context.plan?.origin})`,
            details: {
              metadata: context.authServer?.metadataUrl ?? "(unknown)",
              issuer: context.authServer?.issuer ?? "(unknown)",
            },
          }),
        },
      ],
      always: [
        {
          guard: "planRefused",
          target: "failed",
          actions: {
            type: "assignError",
            params: ({ context }) => ({
              error: established(authorizationRefused(context, context.plan), "the refusal"),
            }),
          },
        },
        { target: "registering" },
      ],
    },

    reusingMetadata: {
      description: "A step-up's plan, judged by the loop guard; the client is known.",
      entry: "assignPlan",
      always: [
        {
          guard: "planRefused",
          target: "failed",
          actions: {
            type: "assignError",
            params: ({ context }) => ({
              error: established(authorizationRefused(context, context.plan), "the refusal"),
            }),
          },
        },
        { target: "authorizing" },
      ],
    },

    registering: {
      invoke: {
        id: "register",
        src: "register",
        input: ({ context }) => ({
          authServer: established(context.authServer, "the authorization server"),
          scopes: context.plan?.requested ?? [],
          forgetStored: context.forgetClient,
        }),
        onDone: {
          target: "authorizing",
          actions: [
            "assignClient",
            {
              type: "trace",
              params: ({ event }) => ({
                decision: "client",
                reason: `${event.output.kind} client ${event.output.clientId}`,
              }),
            },
          ],
        },
        onError: {
          target: "failed",
          actions: {
            type: "assignError",
            params: ({ event }) => ({ error: errorOf("register", event) }),
          },
        },
      },
    },

    authorizing: {
      entry: [
        "countAuthorization",
        "reportAuthorizing",
        {
          type: "trace",
          params: ({ context }) => ({
            decision: "authorize",
            reason: `browser step for ${describeScopes(context.plan?.requested)} (${context.plan?.origin}), attempt ${authorizationsFor(context.authorizations, context.plan?.requested ?? [])} of ${context.config.maxAuthorizationsPerScopeSet}`,
          }),
        },
      ],
      after: {
        authorizationTimeout: {
          target: "failed",
          description: "Nobody completed the browser step in time.",
          actions: {
            type: "assignError",
            params: ({ context }) => ({
              error: new AuthorizationTimeout({
                timeoutMillis: context.config.authorizationTimeoutMillis,
              }),
            }),
          },
        },
      },
      invoke: {
        id: "authorize",
        src: "authorize",
        input: ({ context }) => ({
          authServer: established(context.authServer, "the authorization server"),
          client: established(context.client, "the client"),
          resource: established(context.resource, "the resource").resource,
          scopes: context.plan?.requested ?? [],
        }),
        // The code and verifier travel on this event into exchangingCode, and nowhere else.
        onDone: { target: "exchangingCode" },
        onError: [
          {
            guard: "scopesFromSupportedRefused",
            target: "authorizing",
            reenter: true,
            description: "Once: invalid_scope for scopes taken from scopes_supported.",
            actions: [
              "planWithoutScope",
              {
                type: "trace",
                params: { decision: "retry without scope", reason: because.withoutScopeAuthorize },
              },
            ],
          },
          {
            target: "failed",
            actions: {
              type: "assignError",
              params: ({ event }) => ({ error: errorOf("authorize", event) }),
            },
          },
        ],
      },
    },

    exchangingCode: {
      invoke: {
        id: "exchangeCode",
        src: "exchangeCode",
        input: ({ context, event }) => {
          assertEvent(event, "xstate.done.actor.authorize");
          return {
            authServer: established(context.authServer, "the authorization server"),
            client: established(context.client, "the client"),
            grant: event.output,
          };
        },
        // The lifecycle traces the token with what the grant lacks of the plan.
        onDone: { target: "succeeded", actions: "assignToken" },
        onError: [
          {
            guard: { type: "exchangeFailure", params: { verdict: "client forgotten" } },
            target: "registering",
            description: "Once per flow: a dynamic client the token endpoint no longer knows.",
            actions: [
              "markReregistering",
              {
                type: "trace",
                params: { decision: "register again", reason: because.clientForgotten },
              },
            ],
          },
          {
            guard: { type: "exchangeFailure", params: { verdict: "scopes refused" } },
            target: "authorizing",
            description: "Once: the token endpoint refused the scopes taken from scopes_supported.",
            actions: [
              "planWithoutScope",
              {
                type: "trace",
                params: { decision: "retry without scope", reason: because.withoutScopeToken },
              },
            ],
          },
          {
            guard: { type: "exchangeFailure", params: { verdict: "final" } },
            target: "failed",
            actions: {
              type: "assignError",
              params: ({ event }) => ({ error: errorOf("exchangeCode", event) }),
            },
          },
        ],
      },
    },

    succeeded: { type: "final" },
    failed: { type: "final" },
  },
});

export type AuthorizationCodeFlow = typeof authorizationCodeFlow;
