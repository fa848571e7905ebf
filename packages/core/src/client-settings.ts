/**
 * What an application tells authchart about itself as an OAuth client. One object, used by
 * registration (MCP "Client Registration Approaches"), the authorization request (OAuth 2.1
 * §4.1.1, RFC 8252 §7.3) and client authentication (OAuth 2.1 §2.4).
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#client-registration-approaches
 */
import type { Redacted } from "effect";
import { ephemeralPortProblem } from "./protocol/loopback-redirect.js";
import { quirkSettingsProblem } from "./quirks/match.js";
import type { QuirkSettings } from "./quirks/profile.js";
import type { TokenEndpointAuthMethod } from "./schema/credentials.js";

/** A key for private_key_jwt client authentication (RFC 7523 §2.2; OAuth 2.1 §2.4). */
export interface ClientSigningKey {
  readonly key: CryptoKey;
  readonly kid?: string | undefined;
}

/** Static credentials for one authorization server (MCP "Preregistration"). */
export interface PreRegisteredClient {
  /**
   * The issuer these credentials belong to. Undefined: the first authorization server they are
   * used with, and no other after that (SEP-2352: a client or its secret is never reused at
   * another authorization server).
   */
  readonly issuer?: string | undefined;
  readonly clientId: string;
  readonly clientSecret?: Redacted.Redacted<string> | undefined;
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  readonly signingKey?: ClientSigningKey | undefined;
}

/** An enterprise identity provider this client is registered at (SEP-990). */
export interface IdentityProviderClient {
  /** The identity provider's issuer identifier. */
  readonly issuer: string;
  /** Its token endpoint; when absent, found in its metadata (RFC 8414 §3). */
  readonly tokenEndpoint?: string | undefined;
  readonly clientId: string;
  readonly clientSecret?: Redacted.Redacted<string> | undefined;
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  readonly signingKey?: ClientSigningKey | undefined;
}

/**
 * Which grant obtains tokens — explicit, named in the trace; checked when the session is created
 * (a credential the grant needs and lacks is an InvalidClientConfiguration then, not mid-flow).
 */
export type GrantSettings =
  /** RFC 6749 §4.1 with PKCE: a user in a browser. The default. */
  | { readonly type: "authorization_code" }
  /**
   * RFC 6749 §4.4: the client acts for itself, with a pre-registered confidential client (a
   * secret, or a signing key for private_key_jwt).
   */
  | { readonly type: "client_credentials" }
  /**
   * RFC 7523 §2.1 with a workload identity token (SEP-1933): `assertion` is called for each token
   * request (a projected token file is re-read, an identity endpoint asked again). A rejection is
   * final.
   */
  | {
      readonly type: "jwt_bearer";
      readonly assertion: () => string | Promise<string>;
    }
  /**
   * SEP-990: the user's ID token from the enterprise identity provider is exchanged there for an
   * ID-JAG (RFC 8693), which the authorization server takes as a JWT bearer grant.
   */
  | {
      readonly type: "cross_app_access";
      readonly identityProvider: IdentityProviderClient;
      /** The user's ID token at the identity provider (RFC 8693 §2.1 `subject_token`). */
      readonly idToken: () => string | Promise<string>;
    }
  /** RFC 8628: the user enters a code shown here in a browser elsewhere. */
  | { readonly type: "device_code" };

export interface ClientSettings {
  /** The grant that obtains tokens. Default: the authorization code with PKCE. */
  readonly grant?: GrantSettings | undefined;
  /**
   * Shown on consent screens (RFC 7591 §2 client_name;
   * draft-ietf-oauth-client-id-metadata-document-00 §4.1).
   */
  readonly clientName: string;
  /**
   * Exact redirect URIs, registered as is (RFC 9700 §2.1, RFC 8252 §7.3). The first is used. Port
   * 0 on a loopback IP literal (`http://127.0.0.1:0/callback`) asks for an ephemeral port: it is
   * registered without a port, and each authorization request carries the port the user agent
   * bound (protocol/loopback-redirect.ts). Default, for the grants with a browser step:
   * `defaultRedirectUri`, which needs a user agent that binds its port (nodeUserAgent does); a
   * plain-function user agent must be given the redirect URI it serves.
   */
  readonly redirectUris?: readonly [string, ...string[]] | undefined;
  /**
   * RFC 7591 / OIDC application_type (SEP-837, "Update authorization spec to clarify client type
   * requirements"). Default: "native" when every redirect URI is loopback.
   */
  readonly applicationType?: "native" | "web" | undefined;
  /** Tried first (MCP "Client Registration Approaches", step 1; "Preregistration"). */
  readonly preRegistered?: readonly PreRegisteredClient[] | undefined;
  /**
   * Tried second (MCP "Client ID Metadata Documents"): an https URL that serves this client's
   * metadata document.
   */
  readonly clientMetadataUrl?: string | undefined;
  /** For dynamic registration (RFC 7591 §2). Default "none": a public client with PKCE. */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  /** Key for private_key_jwt with a dynamically registered or CIMD client. */
  readonly signingKey?: ClientSigningKey | undefined;
  /** Scopes always asked for (selectScopes' `configured`; MCP "Scope Selection Strategy"). */
  readonly scopes?: readonly string[] | undefined;
  /**
   * Add offline_access when the authorization server lists it (SEP-2207, "OIDC-flavored refresh
   * token guidance"). Default true.
   */
  readonly offlineAccess?: boolean | undefined;
  /**
   * What real authorization servers need beyond the specifications (quirks/profiles.ts): the
   * built-in profiles are matched by issuer; choose, override, extend or switch them off per
   * server here. Every adjustment a request gets is a trace entry naming the profile and why.
   */
  readonly quirks?: QuirkSettings | undefined;
}

/**
 * The redirect URI when none is configured: loopback, any free port, bound by the user agent before
 * each authorization request (https://www.rfc-editor.org/rfc/rfc8252#section-7.3).
 */
export const defaultRedirectUri = "http://127.0.0.1:0/callback";

/**
 * The settings with their redirect URIs made explicit: the default where none were given and the
 * grant has a browser step (the authorization code; a headless one may become the device grant).
 */
export const withDefaultRedirectUris = (settings: ClientSettings): ClientSettings =>
  settings.redirectUris === undefined &&
  (settings.grant?.type ?? "authorization_code") === "authorization_code"
    ? { ...settings, redirectUris: [defaultRedirectUri] }
    : settings;

export const findPreRegistered = (
  settings: ClientSettings,
  issuer: string,
): PreRegisteredClient | undefined =>
  settings.preRegistered?.find((c) => c.issuer === issuer) ??
  settings.preRegistered?.find((c) => c.issuer === undefined);

/**
 * What the configured grant lacks to run at all, or undefined: checked when a session is
 * created, so that a missing credential is a configuration error at once, not a failure in the
 * middle of a flow.
 */
export const grantConfigurationProblem = (settings: ClientSettings): string | undefined => {
  const grant = settings.grant ?? { type: "authorization_code" };
  const quirks = quirkSettingsProblem(settings.quirks);
  if (quirks !== undefined) return quirks;
  // A grant without a user sends its credentials with nobody to see where they go: an issuer-less
  // pre-registered client would serve whatever authorization server the MCP server names.
  const withoutUser =
    grant.type === "client_credentials" ||
    grant.type === "jwt_bearer" ||
    grant.type === "cross_app_access";
  if (withoutUser && (settings.preRegistered ?? []).some((c) => !c.issuer))
    return `the ${grant.type} grant runs without a user: every pre-registered client needs the issuer it belongs to`;
  const confidential = (settings.preRegistered ?? []).some(
    (c) => c.clientSecret !== undefined || c.signingKey !== undefined || settings.signingKey,
  );
  switch (grant.type) {
    case "authorization_code":
    case "device_code":
      return undefined;
    case "client_credentials":
      return confidential
        ? undefined
        : "the client_credentials grant needs a pre-registered client with a secret or a signing key (preRegistered)";
    case "jwt_bearer":
      if ((settings.preRegistered ?? []).length === 0)
        return "the jwt_bearer grant needs the client's id at the authorization server (preRegistered)";
      return typeof grant.assertion === "function"
        ? undefined
        : "the jwt_bearer grant needs an assertion function that returns the workload's JWT";
    case "cross_app_access":
      if ((settings.preRegistered ?? []).length === 0)
        return "cross_app_access needs the client's registration at the authorization server (preRegistered)";
      if (!grant.identityProvider?.issuer || !grant.identityProvider.clientId)
        return "cross_app_access needs the identity provider's issuer and this client's id there";
      return typeof grant.idToken === "function"
        ? undefined
        : "cross_app_access needs an idToken function that returns the user's ID token";
    default:
      return `unknown grant ${JSON.stringify(String((grant as { type?: unknown }).type).slice(0, 40))}`;
  }
};

/** A redirect URI that asks for an ephemeral port it cannot have (RFC 8252 §7.3), or undefined. */
export const redirectUriProblem = (settings: ClientSettings): string | undefined => {
  for (const uri of settings.redirectUris ?? []) {
    const problem = ephemeralPortProblem(uri);
    if (problem !== undefined) return problem;
  }
  return undefined;
};
