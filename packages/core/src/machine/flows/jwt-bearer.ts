/**
 * The JWT bearer grant (RFC 7523 §2.1) with a workload identity token (SEP-1933) as a child
 * flow: resource metadata → authorization-server metadata → the scope plan → one token request
 * with the assertion the application supplies. A rejection is final: no retry, and no fallback
 * to another grant — the workload's identity is what it is.
 */
import {
  authorizingEntry,
  authServerMetadataState,
  directGrantInput,
  flowContext,
  flowOutput,
  flowSetup,
  planningState,
  resourceMetadataState,
  startingState,
} from "./setup.js";

export const jwtBearerFlow = flowSetup.createMachine({
  id: "jwtBearer",
  description:
    "RFC 7523 §2.1 with a workload identity token: one token request; a rejection is final.",
  context: flowContext,
  initial: "starting",
  output: flowOutput,
  states: {
    starting: startingState,
    resourceMetadata: resourceMetadataState,
    authServerMetadata: authServerMetadataState,
    planning: planningState("requestingToken"),
    requestingToken: {
      entry: authorizingEntry,
      invoke: {
        id: "requestJwtBearer",
        src: "requestJwtBearer",
        input: directGrantInput,
        onDone: { target: "succeeded", actions: "assignToken" },
        onError: {
          target: "failed",
          description: "Final: no retry and no other grant.",
          actions: { type: "assignStepError", params: { step: "jwtBearer" } },
        },
      },
    },
    succeeded: { type: "final" },
    failed: { type: "final" },
  },
});
