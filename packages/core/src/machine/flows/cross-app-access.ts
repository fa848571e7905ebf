/**
 * Enterprise-managed authorization / cross-app access (SEP-990) as a child flow: resource
 * metadata → authorization-server metadata → the scope plan → token exchange at the enterprise
 * identity provider (RFC 8693 §2.1: the user's ID token for an identity assertion JWT
 * authorization grant, an ID-JAG, whose audience is the authorization server) → the JWT bearer
 * grant with it at the authorization server (RFC 7523 §2.1). The ID-JAG travels on the exchange's
 * done event into the grant and is in no context.
 */
import { assertEvent } from "xstate";
import { withoutAdjustments } from "../actors.js";
import {
  authorizingEntry,
  directGrantInput,
  discoveryStates,
  endStates,
  flowContext,
  flowOutput,
  flowSetup,
  tracedTokenActions,
} from "./setup.js";

export const crossAppAccessFlow = flowSetup.createMachine({
  id: "crossAppAccess",
  description:
    "SEP-990: an ID-JAG from the enterprise identity provider (RFC 8693), then the JWT bearer grant with it.",
  context: flowContext,
  initial: "starting",
  output: flowOutput,
  states: {
    ...discoveryStates("exchangingAtIdentityProvider"),
    exchangingAtIdentityProvider: {
      entry: authorizingEntry,
      invoke: {
        id: "requestIdJag",
        src: "requestIdJag",
        input: directGrantInput,
        onDone: {
          target: "requestingToken",
          actions: [
            {
              type: "traceAdjustments",
              params: ({ event }) => ({ adjustments: event.output.adjustments ?? [] }),
            },
            {
              type: "trace",
              params: {
                decision: "identity assertion",
                reason: "the identity provider issued an ID-JAG for this authorization server",
              },
            },
          ],
        },
        onError: {
          target: "failed",
          actions: { type: "assignStepError", params: { step: "requestIdJag" } },
        },
      },
    },
    requestingToken: {
      invoke: {
        id: "exchangeIdJag",
        src: "exchangeIdJag",
        input: ({ context, event }) => {
          assertEvent(event, "xstate.done.actor.requestIdJag");
          return { ...directGrantInput({ context }), idJag: withoutAdjustments(event.output) };
        },
        onDone: { target: "succeeded", actions: tracedTokenActions },
        onError: {
          target: "failed",
          description: "Final, as any JWT bearer rejection.",
          actions: { type: "assignStepError", params: { step: "exchangeIdJag" } },
        },
      },
    },
    ...endStates,
  },
});
