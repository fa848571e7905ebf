/**
 * The client credentials grant (RFC 6749 §4.4) as a child flow: the client acts for itself, with
 * no user — resource metadata → authorization-server metadata → the scope plan → the token
 * request, authenticated with client_secret_basic, client_secret_post or private_key_jwt (RFC
 * 7523 §2.2). No refresh token is issued (RFC 6749 §4.4.3): the lifecycle runs the grant again
 * when the token expires, and a 403 insufficient_scope asks for a new token with the union of
 * scopes.
 */
import {
  discoveryStates,
  endStates,
  flowContext,
  flowOutput,
  flowSetup,
  tokenRequestState,
} from "./setup.js";

export const clientCredentialsFlow = flowSetup.createMachine({
  id: "clientCredentials",
  description: "RFC 6749 §4.4: a token for the client itself, no user and no refresh token.",
  context: flowContext,
  initial: "starting",
  output: flowOutput,
  states: {
    ...discoveryStates("requestingToken"),
    requestingToken: tokenRequestState(
      "requestClientCredentials",
      "clientCredentials",
      "The token endpoint refused the client: the flow fails with its answer.",
    ),
    ...endStates,
  },
});
