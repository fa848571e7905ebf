/**
 * The JWT bearer grant (RFC 7523 §2.1) with a workload identity token (SEP-1933) as a child
 * flow: resource metadata → authorization-server metadata → the scope plan → one token request
 * with the assertion the application supplies. A rejection is final: no retry, and no fallback
 * to another grant — the workload's identity is what it is.
 */
import {
  discoveryStates,
  endStates,
  flowContext,
  flowOutput,
  flowSetup,
  tokenRequestState,
} from "./setup.js";

export const jwtBearerFlow = flowSetup.createMachine({
  id: "jwtBearer",
  description:
    "RFC 7523 §2.1 with a workload identity token: one token request; a rejection is final.",
  context: flowContext,
  initial: "starting",
  output: flowOutput,
  states: {
    ...discoveryStates("requestingToken"),
    requestingToken: tokenRequestState(
      "requestJwtBearer",
      "jwtBearer",
      "Final: no retry and no other grant.",
    ),
    ...endStates,
  },
});
