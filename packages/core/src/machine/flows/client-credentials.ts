/**
 * The client credentials grant (RFC 6749 §4.4) as a child flow: the client acts for itself, with
 * no user — resource metadata → authorization-server metadata → the scope plan → the token
 * request, authenticated with client_secret_basic, client_secret_post or private_key_jwt (RFC
 * 7523 §2.2). No refresh token is issued (RFC 6749 §4.4.3): the lifecycle runs the grant again
 * when the token expires, and a 403 insufficient_scope asks for a new token with the union of
 * scopes.
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

export const clientCredentialsFlow = flowSetup.createMachine({
  id: "clientCredentials",
  description: "RFC 6749 §4.4: a token for the client itself, no user and no refresh token.",
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
        id: "requestClientCredentials",
        src: "requestClientCredentials",
        input: directGrantInput,
        onDone: { target: "succeeded", actions: "assignToken" },
        onError: {
          target: "failed",
          actions: { type: "assignStepError", params: { step: "clientCredentials" } },
        },
      },
    },
    succeeded: { type: "final" },
    failed: { type: "final" },
  },
});
