/**
 * The device authorization grant (RFC 8628) as a child flow, for a user whose browser is on
 * another device: resource metadata → authorization-server metadata → the scope plan → a client
 * → the device authorization request, whose user code and verification URI go to the user
 * through the application's DeviceCodePresenter (printed by default) → polling the token
 * endpoint at the server's `interval`, slower on `slow_down` (§3.5), until the user decides, the
 * code expires, or the lifecycle's authorization timeout passes. The device code travels on the
 * request's done event into the polling step and is in no context.
 */
import { assertEvent } from "xstate";
import { DEVICE_CODE_GRANT } from "../../steps/device-authorization.js";
import {
  authorizingEntry,
  directGrantInput,
  discoveryStates,
  endStates,
  established,
  flowContext,
  flowOutput,
  flowSetup,
  registeringState,
  userTimeout,
} from "./setup.js";

export const deviceAuthorizationFlow = flowSetup.createMachine({
  id: "deviceAuthorization",
  description:
    "RFC 8628: a user code shown to the user, then polling the token endpoint until the user decides.",
  context: flowContext,
  initial: "starting",
  output: flowOutput,
  states: {
    ...discoveryStates("registering", { withUser: true }),
    registering: registeringState("requestingUserCode", [DEVICE_CODE_GRANT, "refresh_token"]),
    requestingUserCode: {
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
          actions: {
            type: "trace",
            params: ({ event }) => ({
              decision: "user code",
              reason: `the user was shown a code to enter at the verification URI; polling every ${event.output.intervalSeconds} s`,
            }),
          },
        },
        onError: {
          target: "failed",
          actions: { type: "assignStepError", params: { step: "requestDeviceCode" } },
        },
      },
    },
    awaitingUser: {
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
            pending: event.output,
          };
        },
        onDone: { target: "succeeded", actions: "assignToken" },
        onError: {
          target: "failed",
          actions: { type: "assignStepError", params: { step: "pollDeviceToken" } },
        },
      },
    },
    ...endStates,
  },
});
