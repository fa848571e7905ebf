/**
 * The device authorization grant (RFC 8628) as a child flow, for a user whose browser is on
 * another device: resource metadata → authorization-server metadata → the scope plan → a client
 * → the device authorization request, whose user code and verification URI go to the user
 * through the application's DeviceCodePresenter (printed by default) → polling the token
 * endpoint at the server's `interval`, slower on `slow_down` (§3.5), until the user decides, the
 * code expires, or the lifecycle's authorization timeout passes. The device code travels on the
 * request's done event into the polling step and is in no context. (The authorization-code flow
 * takes the same user-code steps when its user agent has no browser here.)
 */
import { DEVICE_CODE_GRANT } from "../../steps/device-authorization.js";
import {
  discoveryStates,
  endStates,
  findingStoredTokenState,
  flowContext,
  flowOutput,
  flowSetup,
  registeringState,
  userCodeStates,
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
    findingStoredToken: findingStoredTokenState,
    registering: registeringState("requestingUserCode", [DEVICE_CODE_GRANT, "refresh_token"]),
    ...userCodeStates,
    ...endStates,
  },
});
