/**
 * The client credentials grant (RFC 6749 §4.4; OAuth 2.1 §4.2; SEP-1046): a confidential client
 * obtains a token for itself, authenticated with client_secret_basic, client_secret_post or a
 * private_key_jwt client assertion (RFC 7523 §2.2) — `clientAuthentication` picks the method as for
 * every token request (OAuth 2.1 §2.4). The request names the MCP server as `resource` (RFC 8707
 * §2) and the scopes wanted; the answer is read like every token response (OAuth 2.1 §3.2.3,
 * §3.2.4) and the token set saved before it is returned, as `exchangeCode` does.
 */
import { Effect } from "effect";
import { InvalidClientConfiguration } from "../errors.js";
import { adjustApiRequest, preferredAuthMethod } from "../quirks/apply.js";
import type { ResolvedQuirks } from "../quirks/profile.js";
import { chooseClientAuthMethod } from "./client-auth.js";
import {
  asRequested,
  saveGrantedTokens,
  type TokenEndpointContext,
  tokenRequest,
} from "./tokens.js";

export const CLIENT_CREDENTIALS_GRANT = "client_credentials";

export interface ClientCredentialsInput extends TokenEndpointContext {
  /** The MCP server's canonical URI (RFC 8707 §2; MCP "Canonical Server URI"). */
  readonly resource: string;
  /** RFC 6749 §4.4.2 `scope`; empty or absent: omitted, the server's default applies. */
  readonly scopes?: readonly string[] | undefined;
}

/**
 * RFC 6749 §4.4.2: the grant's own parameters (client authentication is added when sending), as
 * the server's quirk profile adjusts them (resource, scope, audience: quirks/apply.ts). Pure.
 */
export const clientCredentialsParams = (input: {
  readonly resource: string;
  readonly scopes?: readonly string[] | undefined;
  readonly quirks?: ResolvedQuirks | undefined;
}): URLSearchParams => {
  const adjusted = adjustApiRequest(
    input.quirks,
    { resource: input.resource, scopes: input.scopes ?? [] },
    "client_credentials",
  );
  const params = new URLSearchParams({ grant_type: CLIENT_CREDENTIALS_GRANT });
  if (adjusted.scope !== undefined) params.set("scope", adjusted.scope);
  if (adjusted.resource !== undefined) params.set("resource", adjusted.resource);
  if (adjusted.audience !== undefined) params.set("audience", adjusted.audience);
  return params;
};

/**
 * RFC 6749 §4.4: "MUST only be used by confidential clients" — a client that would authenticate
 * with `none` cannot use the grant, and is refused before anything is sent. Pure.
 */
export const checkConfidentialClient = (
  input: TokenEndpointContext,
): InvalidClientConfiguration | undefined => {
  const method = chooseClientAuthMethod(
    input.client,
    input.metadata,
    input.signingKey,
    preferredAuthMethod(input.quirks)?.method,
  );
  return method === "none"
    ? new InvalidClientConfiguration({
        reason:
          "the client credentials grant needs a confidential client (a client secret or a private_key_jwt signing key)",
      })
    : undefined;
};

/**
 * RFC 6749 §4.4.2-§4.4.3: request a token for the client itself and save it for
 * (resource, issuer, client). No refresh token is expected (§4.4.3): when the token expires the
 * grant is simply run again.
 */
export const clientCredentials = Effect.fn("clientCredentials")(function* (
  input: ClientCredentialsInput,
) {
  const notConfidential = checkConfidentialClient(input);
  if (notConfidential !== undefined) return yield* notConfidential;
  const key = { resource: input.resource, issuer: input.issuer, clientId: input.client.clientId };
  const { response, dpop } = yield* tokenRequest(
    input,
    CLIENT_CREDENTIALS_GRANT,
    clientCredentialsParams(input),
    key,
  );
  return yield* saveGrantedTokens(asRequested(input.quirks, input.resource, response), {
    key,
    requestedScopes: input.scopes ?? [],
    grantType: CLIENT_CREDENTIALS_GRANT,
    dpop,
  });
});
