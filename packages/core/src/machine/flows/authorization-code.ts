/**
 * The authorization-code grant as a child flow of the lifecycle (MCP "Authorization Flow Steps"):
 * resource metadata (RFC 9728) → authorization-server metadata (RFC 8414) → a scope plan the loop
 * guard allows → a client (pre-registered, client-ID metadata document or RFC 7591 registration)
 * → the authorization request (PKCE S256, state, resource, scope; RFC 6749 §4.1, RFC 7636, RFC
 * 8707) → the code exchange. Its once-only retries live here: without the scopes taken from
 * `scopes_supported` when they are refused, and a new registration when the token endpoint no
 * longer knows a dynamic client. So does the browser step's timeout. A user agent without a
 * browser here (headless) takes the device authorization grant's user-code steps instead of the
 * browser step when the authorization server offers it (RFC 8628) — a decision the trace names —
 * with a client registered for both grants.
 *
 * Typed input from the parent, a typed output to it ({@link FlowOutput}): the token's metadata and
 * what the flow learned, or a typed error. The authorization code and its verifier travel on the
 * `authorize` actor's done event straight into `exchangingCode` and are in no context. While it
 * runs, the flow reports to its parent each authorization it starts (the loop guard counts it for
 * the session) and each decision (the parent's trace).
 */
import { assertEvent } from "xstate";
import { DEVICE_CODE_GRANT } from "../../steps/device-authorization.js";
import { resourceRequiringDpop } from "../decisions.js";
import { because } from "../vocabulary.js";
import {
  authorizingEntry,
  authServerMetadataState,
  endStates,
  established,
  findingStoredTokenState,
  flowContext,
  flowOutput,
  flowSetup,
  planningState,
  registeringState,
  resourceMetadataState,
  tracedTokenActions,
  userCodeStates,
  userTimeout,
} from "./setup.js";

export const authorizationCodeFlow = flowSetup.createMachine({
  id: "authorizationCode",
  description:
    "The authorization-code grant with PKCE: discovery, a client, the browser step, the code exchange.",
  context: flowContext,
  initial: "starting",
  output: flowOutput,
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
        {
          guard: "knownMetadataServesBackground",
          target: "planning",
          description:
            "A background session on known, current metadata: straight to the plan and the store, no discovery.",
          actions: {
            type: "trace",
            params: { decision: "metadata reused", reason: because.metadataCurrent },
          },
        },
        { target: "resourceMetadata" },
      ],
    },

    resourceMetadata: resourceMetadataState,
    authServerMetadata: authServerMetadataState,
    planning: planningState("registering", { withUser: true, device: "registeringForDevice" }),

    /** A step-up on known metadata: the plan, judged by the loop guard; the client is known. */
    reusingMetadata: planningState("authorizing", {
      withUser: true,
      device: "registeringForDevice",
    }),

    /** A background session: a token obtained elsewhere, else InteractionRequired. */
    findingStoredToken: findingStoredTokenState,

    registering: registeringState("authorizing"),

    /**
     * No browser here: a client that may use both grants (the same client serves a later browser
     * login), then the user code (RFC 8628).
     */
    registeringForDevice: registeringState("requestingUserCode", [
      "authorization_code",
      "refresh_token",
      DEVICE_CODE_GRANT,
    ]),
    ...userCodeStates,

    authorizing: {
      entry: authorizingEntry,
      after: {
        authorizationTimeout: {
          target: "failed",
          description: "Nobody completed the browser step in time.",
          actions: {
            type: "assignError",
            params: ({ context }) => ({ error: userTimeout(context) }),
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
          resourceRequiringDpop: resourceRequiringDpop(context.resource),
        }),
        // The code and verifier travel on this event into exchangingCode, and nowhere else.
        onDone: {
          target: "exchangingCode",
          actions: {
            type: "traceAdjustments",
            params: ({ event }) => ({ adjustments: event.output.adjustments ?? [] }),
          },
        },
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
              type: "assignStepError",
              params: { step: "authorize" },
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
            resourceRequiringDpop: resourceRequiringDpop(context.resource),
          };
        },
        // The lifecycle traces the token with what the grant lacks of the plan.
        onDone: { target: "succeeded", actions: tracedTokenActions },
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
              type: "assignStepError",
              params: { step: "exchangeCode" },
            },
          },
        ],
      },
    },

    ...endStates,
  },
});

export type AuthorizationCodeFlow = typeof authorizationCodeFlow;
