/**
 * What every grant's child flow is made of: one xstate `setup` with the steps the flows invoke,
 * their guards and actions, and the states they share — finding the resource and its
 * authorization server, making the scope plan the loop guard judges, and the two ends. Each flow
 * (authorization-code.ts, client-credentials.ts, jwt-bearer.ts, cross-app-access.ts,
 * device-authorization.ts) is a machine of this setup with its own token steps.
 *
 * Data one step hands the next that is a secret (an authorization code and its verifier, an
 * ID-JAG, a device code) travels on the step's done event into the next step's input and is in
 * no context. What a flow learns (the resource, the authorization server, the client, the token's
 * metadata) is in its context and in its output.
 */
import { assertEvent, assign, enqueueActions, fromPromise, sendParent, setup } from "xstate";
import { includesAll, missingScopes, unionScopes } from "../../protocol/scopes.js";
import type { AppliedAdjustment } from "../../quirks/profile.js";
import type { AuthorizationGrant } from "../../steps/authorize.js";
import type {
  Adjusted,
  AuthorizeActorInput,
  DeviceCodeActorInput,
  DeviceTokenActorInput,
  DirectGrantActorInput,
  DiscoverAuthServerActorInput,
  DiscoverResourceActorInput,
  ExchangeCodeActorInput,
  FindStoredTokenActorInput,
  IdJagGrantActorInput,
  PendingDeviceAuthorization,
  RegisterActorInput,
  StoredToken,
} from "../actors.js";
import { adjustmentEntry, notProvided, withoutAdjustments } from "../actors.js";
import {
  authorizationRefused,
  codeExchangeFailureVerdict,
  currentAuthServer,
  describeScopes,
  interactionRequired,
  planFor,
  resourceRequiringDpop,
  type ScopeFacts,
  scopesFromSupportedRefused,
  userStepVerdict,
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
 * absence is a defect of the flow, reported as one, never papered over with a default.
 */
export const established = <A>(value: A | undefined, what: string): A => {
  if (value === undefined)
    throw new StepDefect({ step: "flow", reason: `${what} is not known yet` });
  return value;
};

/** The typed failure an actor's error event carries (anything else becomes a StepDefect). */
export const errorOf = (step: string, event: object): AuthchartError =>
  asAuthchartError(step, "error" in event ? event.error : undefined);

const learnedOf = (context: FlowContext) => ({
  resource: context.resource,
  authServer: context.authServer,
  client: context.client,
});

/** What every flow ends with: the token's metadata and what it learned, or its typed error. */
export const flowOutput = ({ context }: { readonly context: FlowContext }): FlowOutput =>
  context.token !== undefined
    ? { ok: true, token: context.token, plan: context.plan, learned: learnedOf(context) }
    : {
        ok: false,
        error:
          context.error ??
          new StepDefect({ step: "flow", reason: "the flow ended without a token" }),
        plan: context.plan,
        learned: learnedOf(context),
      };

/** Every flow's context at its start. */
export const flowContext = ({ input }: { readonly input: FlowInput }): FlowContext => ({
  ...input.facts,
  serverUrl: input.serverUrl,
  config: input.config,
  client: input.client,
  authorizations: input.authorizations,
  forgetClient: input.reregister,
  reregistered: input.reregister,
});

export const flowSetup = setup({
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
    exchangeCode: fromPromise<Adjusted<TokenInfo>, ExchangeCodeActorInput>(
      notProvided("exchangeCode"),
    ),
    requestClientCredentials: fromPromise<Adjusted<TokenInfo>, DirectGrantActorInput>(
      notProvided("requestClientCredentials"),
    ),
    requestJwtBearer: fromPromise<Adjusted<TokenInfo>, DirectGrantActorInput>(
      notProvided("requestJwtBearer"),
    ),
    requestIdJag: fromPromise<Adjusted<IdJagGrantActorInput["idJag"]>, DirectGrantActorInput>(
      notProvided("requestIdJag"),
    ),
    exchangeIdJag: fromPromise<Adjusted<TokenInfo>, IdJagGrantActorInput>(
      notProvided("exchangeIdJag"),
    ),
    requestDeviceCode: fromPromise<Adjusted<PendingDeviceAuthorization>, DeviceCodeActorInput>(
      notProvided("requestDeviceCode"),
    ),
    pollDeviceToken: fromPromise<Adjusted<TokenInfo>, DeviceTokenActorInput>(
      notProvided("pollDeviceToken"),
    ),
    findStoredToken: fromPromise<StoredToken | undefined, FindStoredTokenActorInput>(
      notProvided("findStoredToken"),
    ),
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
      context.client?.issuer === context.authServer?.issuer &&
      knownMetadataCurrent(context),
    /** The known metadata may still be used (a grant without a user needs no client first). */
    knownMetadataCurrent: ({ context }) => knownMetadataCurrent(context),
    /**
     * A background session with known, current metadata: it can only look in the store for a
     * token obtained elsewhere, so its repeated requests send no discovery again.
     */
    knownMetadataServesBackground: ({ context }) =>
      interactionRequired(context) !== undefined && knownMetadataCurrent(context),
    resourceMetadataMissing: ({ event }) =>
      errorOf("discoverResource", event)._tag === "ResourceMetadataNotFound",
    /** DPoP as this session and the servers use it rules out any token (RFC 9728 §2, RFC 9449 §5.1). */
    dpopUnusable: ({ event }) => {
      const tag = errorOf("findStoredToken", event)._tag;
      return tag === "DpopRequiredByResource" || tag === "DpopUnsupported";
    },
    planRefused: ({ context }) => authorizationRefused(context, context.plan) !== undefined,
    /** The next step needs the user and the session may not prompt (interaction: "never"). */
    interactionNotAllowed: ({ context }) => interactionRequired(context) !== undefined,
    /**
     * The store holds a token obtained elsewhere that serves this request: unexpired, or expired
     * with a refresh token (the lifecycle refreshes it as usual), and holding every scope the
     * request cannot do without — a step-up's scopes included, so a token that lacks them never
     * passes for the consent the step-up needs.
     */
    storedTokenServes: ({ context, event }) => {
      assertEvent(event, "xstate.done.actor.findStoredToken");
      return storedTokenServes(event.output, context.plan, Date.now());
    },
    // How the user takes part (decisions.ts userStepVerdict): one guard per verdict.
    deviceFlowChosen: ({ context }) => userStepVerdict(context) === "device",
    browserWithoutDisplay: ({ context }) =>
      userStepVerdict(context) === "browser without a display",
    scopesFromSupportedRefused: ({ context, event }) =>
      scopesFromSupportedRefused(context.plan, errorOf("authorize", event)) &&
      authorizationRefused(context, withoutScopePlan(context.plan)) === undefined,
    exchangeFailure: ({ context, event }, params: { readonly verdict: string }) =>
      codeExchangeFailureVerdict(context, errorOf("exchangeCode", event)) === params.verdict,
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
    /** A quirk profile's adjustments of a request: one trace entry each, for the parent's trace. */
    traceAdjustments: enqueueActions(
      ({ enqueue }, params: { readonly adjustments: readonly AppliedAdjustment[] }) => {
        for (const adjustment of params.adjustments)
          enqueue.sendParent({
            type: "flow.trace",
            entry: { type: "trace", ...adjustmentEntry(adjustment) },
          } satisfies FlowReport);
      },
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
    /** A token obtained elsewhere, found in the store: its metadata, and its client. */
    assignStoredToken: assign(({ event }) => {
      assertEvent(event, "xstate.done.actor.findStoredToken");
      const found = established(event.output, "the stored token");
      return { token: found.token, client: found.client };
    }),
    markReregistering: assign({ forgetClient: true, reregistered: true, client: undefined }),
    /** The token a step returned: its metadata, and the client it was issued to. */
    assignToken: assign(({ context, event }) => {
      assertEvent(event, [
        "xstate.done.actor.exchangeCode",
        "xstate.done.actor.requestClientCredentials",
        "xstate.done.actor.requestJwtBearer",
        "xstate.done.actor.exchangeIdJag",
        "xstate.done.actor.pollDeviceToken",
      ]);
      const token: TokenInfo = withoutAdjustments<TokenInfo>(event.output);
      return {
        token,
        client: context.client ?? {
          issuer: token.issuer,
          clientId: token.clientId,
          kind: "pre-registered" as const,
        },
      };
    }),
    assignError: assign({ error: (_, params: { readonly error: AuthchartError }) => params.error }),
    assignStepError: assign({
      error: ({ event }, params: { readonly step: string }) => errorOf(params.step, event),
    }),
  },
});

/** Whether a stored token answers the plan: usable now or refreshable, and covering its needs. */
export const storedTokenServes = (
  found: StoredToken | undefined,
  plan: ScopePlan | undefined,
  now: number,
): found is StoredToken =>
  found !== undefined &&
  (found.token.expiresAt === undefined ||
    found.token.expiresAt > now ||
    found.token.hasRefreshToken) &&
  includesAll(found.token.scopes, plan?.required ?? []);

function knownMetadataCurrent(context: FlowContext): boolean {
  return (
    context.resource !== undefined &&
    currentAuthServer(context, Date.now()) !== undefined &&
    (context.challenge?.resourceMetadata === undefined ||
      context.challenge.resourceMetadata === context.resource.metadataUrl)
  );
}

// ------------------------------------------------------------------ the shared states

/** Protected-resource metadata (RFC 9728 §3), or the MCP 2025-03-26 fallback without it. */
export const resourceMetadataState = flowSetup.createStateConfig({
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
        actions: { type: "assignStepError", params: { step: "discoverResource" } },
      },
    ],
  },
});

/** Authorization-server metadata (RFC 8414 §3, OpenID Connect Discovery §4). */
export const authServerMetadataState = flowSetup.createStateConfig({
  invoke: {
    id: "discoverAuthServer",
    src: "discoverAuthServer",
    input: ({ context }) => {
      const resource = established(context.resource, "the resource");
      return {
        issuer: resource.authorizationServer,
        legacyServerUrl: resource.legacy ? context.serverUrl : undefined,
        forAuthorizationCode: context.config.grant === "authorization_code",
      };
    },
    onDone: { target: "planning", actions: "assignAuthServer" },
    onError: {
      target: "failed",
      actions: { type: "assignStepError", params: { step: "discoverAuthServer" } },
    },
  },
});

/**
 * The scope plan, judged by the loop guard before any registration, authorization or token
 * request; then `next`. A flow whose next steps need the user (`withUser`: a browser step, a user
 * code) is judged by the session's interaction policy here too: a background session ends now,
 * with the consent it would need, before anything is registered or opened. With `device`, a user
 * agent without a browser here goes to that state instead of `next` when the authorization server
 * offers the device authorization grant (RFC 8628).
 */
export const planningState = <const Next extends string, const Device extends string = never>(
  next: Next,
  options: { readonly withUser?: boolean; readonly device?: Device } = {},
) =>
  flowSetup.createStateConfig({
    description: options.withUser
      ? "The scope plan, judged by the loop guard and the interaction policy before any registration or prompt."
      : "The scope plan, judged by the loop guard before any registration, authorization or token request.",
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
      ...(options.withUser ? [interactionRequiredTransition] : []),
      ...(options.device !== undefined ? userStepTransitions(options.device, next) : []),
      { target: next },
    ],
  });

/** A headless user agent: the device grant where the server offers it, else still the browser. */
const userStepTransitions = <const Device extends string, const Next extends string>(
  device: Device,
  next: Next,
) =>
  [
    {
      guard: "deviceFlowChosen",
      target: device,
      description:
        "No browser here, and the authorization server offers the device authorization grant (RFC 8628): a user code instead of the browser step.",
      actions: {
        type: "trace",
        params: ({ context }: { readonly context: FlowContext }) => ({
          decision: "device flow" as const,
          reason: because.deviceFlow,
          details: {
            issuer: context.authServer?.issuer ?? "(unknown)",
            device_authorization_endpoint:
              context.authServer?.metadata.device_authorization_endpoint ?? "(none)",
          },
        }),
      },
    },
    {
      guard: "browserWithoutDisplay",
      target: next,
      description:
        "No browser here, and no device authorization grant at this server: the browser step in paste mode.",
      actions: {
        type: "trace",
        params: ({ context }: { readonly context: FlowContext }) => ({
          decision: "browser step" as const,
          reason: because.browserWithoutDisplay,
          details: { issuer: context.authServer?.issuer ?? "(unknown)" },
        }),
      },
    },
  ] as const;

/**
 * A background session meets a step that needs the user: before it ends with the consent it
 * would need, the store may hold a token the user obtained elsewhere.
 */
const interactionRequiredTransition = {
  guard: "interactionNotAllowed",
  target: "findingStoredToken",
  description:
    'The session may not prompt the user (interaction: "never"): a token obtained elsewhere over the same store, else InteractionRequired.',
} as const;

/** The flow ends with InteractionRequired, naming the resource, the authorization server, the scopes. */
const interactionRequiredActions = [
  {
    type: "assignError",
    params: ({ context }: { readonly context: FlowContext }) => ({
      error: established(interactionRequired(context), "the consent needed"),
    }),
  },
  {
    type: "trace",
    params: ({ context }: { readonly context: FlowContext }) => ({
      decision: "interaction required" as const,
      reason: because.interactionRequired,
      details: {
        resource: context.resource?.resource ?? context.serverUrl,
        issuer: context.authServer?.issuer ?? "(unknown)",
        scopes: [...(context.plan?.requested ?? [])],
      },
    }),
  },
] as const;

/**
 * A background session (interaction: "never") whose next step needs the user: the store may
 * already hold the user's consent, given elsewhere over the same store (an interactive session,
 * `authchart login`) since this session last looked. A client of this issuer (configured first,
 * else the stored registration) with a token set for this resource that serves the plan ends the
 * flow with that token — nothing registered, nothing opened; none, one that does not serve, or a
 * store that cannot be read: InteractionRequired, as without the store.
 */
export const findingStoredTokenState = flowSetup.createStateConfig({
  description:
    "A background session looks in the store for a token obtained elsewhere before it gives up with InteractionRequired.",
  invoke: {
    id: "findStoredToken",
    src: "findStoredToken",
    input: ({ context }) => ({
      resource: established(context.resource, "the resource").resource,
      authServer: established(context.authServer, "the authorization server"),
      resourceRequiringDpop: resourceRequiringDpop(context.resource),
    }),
    onDone: [
      {
        guard: "storedTokenServes",
        target: "succeeded",
        description:
          "A token obtained elsewhere, usable or refreshable, with every scope the request needs: adopted.",
        actions: [
          "assignStoredToken",
          {
            type: "trace",
            params: ({ event }) => ({
              decision: "adopted",
              reason: because.storedTokenAdopted,
              details: {
                client: event.output?.client.clientId ?? "(none)",
                version: event.output?.token.version ?? 0,
              },
            }),
          },
        ],
      },
      {
        target: "failed",
        description:
          "No stored token, or one that lacks a scope the request needs: InteractionRequired.",
        actions: interactionRequiredActions,
      },
    ],
    onError: [
      {
        guard: "dpopUnusable",
        target: "failed",
        description:
          "No token this session could use there, from anywhere (its DPoP policy and the resource's or server's DPoP): that error, not a login that could not help.",
        actions: { type: "assignStepError", params: { step: "findStoredToken" } },
      },
      {
        target: "failed",
        description: "The store could not be read: InteractionRequired, as without it.",
        actions: interactionRequiredActions,
      },
    ],
  },
});

/** Where a flow without a user starts: known, current metadata is used as is. */
export const startingState = flowSetup.createStateConfig({
  always: [
    {
      guard: "knownMetadataCurrent",
      target: "planning",
      actions: {
        type: "trace",
        params: { decision: "metadata reused", reason: because.metadataCurrent },
      },
    },
    { target: "resourceMetadata" },
  ],
});

/**
 * The states every flow without a browser step starts with — known, current metadata reused or
 * discovered, then the loop-guarded plan — going to `next`.
 */
export const discoveryStates = <const Next extends string>(
  next: Next,
  options: { readonly withUser?: boolean } = {},
) => ({
  starting: startingState,
  resourceMetadata: resourceMetadataState,
  authServerMetadata: authServerMetadataState,
  planning: planningState(next, options),
});

/** How every flow ends: its output (flowOutput) says which and with what. */
export const endStates = {
  succeeded: { type: "final" },
  failed: { type: "final" },
} as const;

/**
 * A client at the authorization server: pre-registered, stored, a client ID metadata document or
 * RFC 7591 dynamic registration for `grantTypes` (default: the authorization code); then `next`.
 */
export const registeringState = <const Next extends string>(
  next: Next,
  grantTypes?: readonly string[],
) =>
  flowSetup.createStateConfig({
    invoke: {
      id: "register",
      src: "register",
      input: ({ context }) => ({
        authServer: established(context.authServer, "the authorization server"),
        scopes: context.plan?.requested ?? [],
        forgetStored: context.forgetClient,
        grantTypes,
        resourceRequiringDpop: resourceRequiringDpop(context.resource),
      }),
      onDone: {
        target: next,
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
        actions: { type: "assignStepError", params: { step: "register" } },
      },
    },
  });

/** One token request for the plan, with nothing but the authorization server and the client. */
export const tokenRequestState = (
  src: "requestClientCredentials" | "requestJwtBearer",
  step: string,
  onRejection: string,
) =>
  flowSetup.createStateConfig({
    entry: authorizingEntry,
    invoke: {
      id: src,
      src,
      input: directGrantInput,
      onDone: { target: "succeeded", actions: tracedTokenActions },
      onError: {
        target: "failed",
        description: onRejection,
        actions: { type: "assignStepError", params: { step } },
      },
    },
  });

/**
 * A token step's result: what the server's quirk profile changed in the request, one trace entry
 * each (quirks/), then the token kept without them.
 */
export const tracedTokenActions = [
  {
    type: "traceAdjustments",
    params: ({ event }: { readonly event: { readonly output: Adjusted<object> } }) => ({
      adjustments: event.output.adjustments ?? [],
    }),
  },
  "assignToken",
] as const;

/** Entering a token request: counted by the loop guard, reported to the session, traced. */
export const authorizingEntry = [
  "countAuthorization",
  "reportAuthorizing",
  {
    type: "trace",
    params: ({ context }: { readonly context: FlowContext }) => ({
      decision: "authorize" as const,
      reason: `authorizing for ${describeScopes(context.plan?.requested)} (${context.plan?.origin}), attempt ${authorizationsFor(context.authorizations, context.plan?.requested ?? [])} of ${context.config.maxAuthorizationsPerScopeSet}`,
    }),
  },
] as const;

/** The input of a token step that needs the authorization server and the plan only. */
export const directGrantInput = ({ context }: { readonly context: FlowContext }) => ({
  authServer: established(context.authServer, "the authorization server"),
  resource: established(context.resource, "the resource").resource,
  scopes: context.plan?.requested ?? [],
  resourceRequiringDpop: resourceRequiringDpop(context.resource),
});

/**
 * The device authorization grant's user steps (RFC 8628 §3.1-§3.5), shared by the device flow and
 * the authorization-code flow's headless branch: the device authorization request, whose user
 * code and verification URI go to the user through the DeviceCodePresenter, then polling the token
 * endpoint until the user decides, the code expires, or the authorization timeout passes. The
 * device code travels on the request's done event into the polling step and is in no context.
 */
export const userCodeStates = {
  requestingUserCode: flowSetup.createStateConfig({
    entry: authorizingEntry,
    // The application's presenter runs here: one that never returns does not hang the flow.
    after: {
      authorizationTimeout: {
        target: "failed",
        description: "The user code could not be shown in time.",
        actions: {
          type: "assignError",
          params: ({ context }) => ({ error: userTimeout(context) }),
        },
      },
    },
    invoke: {
      id: "requestDeviceCode",
      src: "requestDeviceCode",
      input: ({ context }) => ({
        ...directGrantInput({ context }),
        client: established(context.client, "the client"),
      }),
      onDone: {
        target: "awaitingUser",
        actions: [
          {
            type: "traceAdjustments",
            params: ({ event }) => ({ adjustments: event.output.adjustments ?? [] }),
          },
          {
            type: "trace",
            params: ({ event }) => ({
              decision: "user code",
              reason: `the user was shown a code to enter at the verification URI; polling every ${event.output.intervalSeconds} s`,
            }),
          },
        ],
      },
      onError: {
        target: "failed",
        actions: { type: "assignStepError", params: { step: "requestDeviceCode" } },
      },
    },
  }),
  awaitingUser: flowSetup.createStateConfig({
    after: {
      authorizationTimeout: {
        target: "failed",
        description: "Nobody entered the code in time.",
        actions: {
          type: "assignError",
          params: ({ context }) => ({ error: userTimeout(context) }),
        },
      },
    },
    invoke: {
      id: "pollDeviceToken",
      src: "pollDeviceToken",
      input: ({ context, event }) => {
        assertEvent(event, "xstate.done.actor.requestDeviceCode");
        return {
          ...directGrantInput({ context }),
          client: established(context.client, "the client"),
          pending: withoutAdjustments(event.output),
        };
      },
      onDone: { target: "succeeded", actions: tracedTokenActions },
      onError: {
        target: "failed",
        actions: { type: "assignStepError", params: { step: "pollDeviceToken" } },
      },
    },
  }),
};

/** A timeout error for the browser step or the user at another device. */
export const userTimeout = (context: FlowContext) =>
  new AuthorizationTimeout({ timeoutMillis: context.config.authorizationTimeoutMillis });
