/**
 * Client authentication at the token endpoint (OAuth 2.1 §2.4, §3.2.1): one method per
 * request, the registered one when known, else one the server supports. The request mutations
 * (client_secret_post, client assertions) are oauth4webapi's, except the Basic header encoding —
 * see `clientSecretBasic`.
 */
import { Effect, Redacted } from "effect";
import * as oauth from "oauth4webapi";
import type { ClientSigningKey } from "../client-settings.js";
import { InvalidClientConfiguration } from "../errors.js";
import type { ClientRegistration, TokenEndpointAuthMethod } from "../schema/credentials.js";
import type { AuthorizationServerMetadata } from "../schema/wire.js";

const known: ReadonlySet<string> = new Set([
  "none",
  "client_secret_basic",
  "client_secret_post",
  "private_key_jwt",
]);

/** Pure: which method to use for this client at this server. */
export const chooseClientAuthMethod = (
  client: ClientRegistration,
  metadata: Pick<AuthorizationServerMetadata, "token_endpoint_auth_methods_supported">,
  signingKey: ClientSigningKey | undefined,
  /** A quirk profile's method, used when the client's registration names none. */
  preferred?: TokenEndpointAuthMethod | undefined,
): TokenEndpointAuthMethod | { readonly unsupported: string } => {
  const registered =
    client.tokenEndpointAuthMethod ??
    (preferredMethodUsable(preferred, client, signingKey) ? preferred : undefined);
  if (registered !== undefined) {
    return known.has(registered)
      ? (registered as TokenEndpointAuthMethod)
      : { unsupported: registered };
  }
  // RFC 8414 §2: absent token_endpoint_auth_methods_supported means client_secret_basic.
  const supported = metadata.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  if (client.clientSecret !== undefined) {
    if (supported.includes("client_secret_basic")) return "client_secret_basic";
    if (supported.includes("client_secret_post")) return "client_secret_post";
    return "client_secret_basic";
  }
  if (signingKey !== undefined && supported.includes("private_key_jwt")) return "private_key_jwt";
  return "none";
};

/**
 * Whether a quirk profile's method can be used by this client: a secret method with a secret, a
 * key method with a key; and only when the client's registration names no method of its own.
 */
export const preferredMethodUsable = (
  preferred: TokenEndpointAuthMethod | undefined,
  client: ClientRegistration,
  signingKey: ClientSigningKey | undefined,
): preferred is TokenEndpointAuthMethod =>
  preferred !== undefined &&
  client.tokenEndpointAuthMethod === undefined &&
  (preferred === "none" ||
    (preferred === "private_key_jwt"
      ? signingKey !== undefined
      : client.clientSecret !== undefined));

/**
 * The application/x-www-form-urlencoded serialization of one value (RFC 6749 Appendix B), as the
 * WHATWG URL Standard defines the serializer (what URLSearchParams does): ASCII alphanumerics and
 * `*-._` stay as they are, a space becomes `+`, every other octet of the UTF-8 form is `%HH`.
 */
export const formUrlEncode = (value: string): string =>
  new URLSearchParams([["", value]]).toString().slice(1);

/**
 * client_secret_basic (RFC 6749 §2.3.1): the client id and secret are each
 * form-urlencoded, joined with ":" and Base64-encoded. Hand-written instead of oauth4webapi's
 * ClientSecretBasic because that one also escapes `-`, `.`, `_` and `*` (an HTML 4.01 reading
 * of Appendix B): a conforming server decodes both forms to the same id, but servers that compare
 * the Basic user without decoding it refuse `pre%2Dregistered%2Dclient` — the MCP conformance
 * suite's auth/pre-registration among them. With the WHATWG serializer an id or secret made of
 * alphanumerics and `*-._` is sent exactly as issued, which both kinds of server accept.
 */
export const clientSecretBasic =
  (clientSecret: string): oauth.ClientAuth =>
  (_as, client, _body, headers) => {
    const credentials = `${formUrlEncode(client.client_id)}:${formUrlEncode(clientSecret)}`;
    headers.set("authorization", `Basic ${btoa(credentials)}`);
  };

/** The oauth4webapi ClientAuth for the chosen method, or a typed error when a credential is missing. */
export const clientAuthentication = (
  client: ClientRegistration,
  metadata: Pick<AuthorizationServerMetadata, "token_endpoint_auth_methods_supported">,
  signingKey: ClientSigningKey | undefined,
  preferred?: TokenEndpointAuthMethod | undefined,
): Effect.Effect<oauth.ClientAuth, InvalidClientConfiguration> => {
  const method = chooseClientAuthMethod(client, metadata, signingKey, preferred);
  if (typeof method === "object") {
    return Effect.fail(
      new InvalidClientConfiguration({
        reason: `token endpoint auth method "${method.unsupported}" is not supported`,
      }),
    );
  }
  const secret =
    client.clientSecret === undefined ? undefined : Redacted.value(client.clientSecret);
  switch (method) {
    case "none":
      return Effect.succeed(oauth.None());
    case "client_secret_basic":
    case "client_secret_post":
      if (secret === undefined) {
        return Effect.fail(
          new InvalidClientConfiguration({ reason: `${method} needs a client secret` }),
        );
      }
      return Effect.succeed(
        method === "client_secret_basic"
          ? clientSecretBasic(secret)
          : oauth.ClientSecretPost(secret),
      );
    case "private_key_jwt":
      if (signingKey === undefined) {
        return Effect.fail(
          new InvalidClientConfiguration({ reason: "private_key_jwt needs a signing key" }),
        );
      }
      return Effect.succeed(
        oauth.PrivateKeyJwt(
          signingKey.kid === undefined
            ? signingKey.key
            : { key: signingKey.key, kid: signingKey.kid },
        ),
      );
  }
};
