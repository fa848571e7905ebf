/**
 * Step 3: obtain a client_id at the authorization server, in the MCP priority order
 * ("Client Registration Approaches"): pre-registered credentials for this issuer, then a client
 * registered earlier and still valid (from the store), then a client-ID metadata document, then
 * dynamic registration.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#client-registration-approaches
 */
import { Clock, Effect, Option, Redacted } from "effect";
import { type ClientSettings, findPreRegistered } from "../client-settings.js";
import {
  ClientSecretExpired,
  InvalidClientConfiguration,
  RegistrationRejected,
  RegistrationUnavailable,
  UnexpectedStatus,
} from "../errors.js";
import { registeredRedirectUri } from "../protocol/loopback-redirect.js";
import { isLoopbackHost } from "../protocol/resource-uri.js";
import { formatScope } from "../protocol/scopes.js";
import type { ResolvedQuirks } from "../quirks/profile.js";
import type { ClientRegistration } from "../schema/credentials.js";
import {
  type AuthorizationServerMetadata,
  ClientInformationResponse,
  decodeDocument,
  OAuthErrorResponse,
} from "../schema/wire.js";
import { CredentialStore } from "../services/credential-store.js";
import { OAuthHttp, readJsonObject } from "../services/http.js";

export interface RegisterInput {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly settings: ClientSettings;
  /** The scopes this client is about to ask for; sent as `scope` on dynamic registration. */
  readonly scopes: readonly string[];
  /**
   * The grants a dynamically registered client asks for (RFC 7591 §2 `grant_types`). Default:
   * the authorization code and refresh tokens; a device-flow client asks for the device code
   * (RFC 8628 §3.4) and registers no redirect URI.
   */
  readonly grantTypes?: readonly string[] | undefined;
  /** The server's quirk profile: one that says "pre-registration" skips dynamic registration. */
  readonly quirks?: ResolvedQuirks | undefined;
}

export interface Registration {
  readonly client: ClientRegistration;
  /** Where the client came from, for the decision trace. */
  readonly via: "pre-registered" | "store" | "client-id-metadata-document" | "dynamic";
}

const preRegisteredClient = (
  settings: ClientSettings,
  issuer: string,
  now: number,
): ClientRegistration | undefined => {
  const pre = findPreRegistered(settings, issuer);
  return pre === undefined
    ? undefined
    : {
        issuer,
        kind: "pre-registered",
        clientId: pre.clientId,
        clientSecret: pre.clientSecret,
        tokenEndpointAuthMethod: pre.tokenEndpointAuthMethod,
        redirectUris: registeredRedirectUris(settings),
        registeredAt: now,
      };
};

const metadataDocumentClient = (
  settings: ClientSettings,
  issuer: string,
  now: number,
): ClientRegistration | undefined =>
  settings.clientMetadataUrl === undefined
    ? undefined
    : {
        issuer,
        kind: "client-id-metadata-document",
        clientId: settings.clientMetadataUrl,
        tokenEndpointAuthMethod: settings.signingKey ? "private_key_jwt" : "none",
        redirectUris: registeredRedirectUris(settings),
        registeredAt: now,
      };

/**
 * The redirect URIs as registered (RFC 7591 `redirect_uris`): an ephemeral-port loopback URI
 * without its port, which RFC 8252 §7.3 lets the request choose.
 */
export const registeredRedirectUris = (settings: ClientSettings): string[] =>
  (settings.redirectUris ?? []).map(registeredRedirectUri);

/**
 * The full registration of a client the lifecycle already chose (by id), for the authorization
 * and token requests: from the settings, or from the store for a dynamic one.
 */
export const resolveClient = (issuer: string, clientId: string, settings: ClientSettings) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis;
    for (const candidate of [
      preRegisteredClient(settings, issuer, now),
      metadataDocumentClient(settings, issuer, now),
    ]) {
      if (candidate?.clientId === clientId) return candidate;
    }
    const stored = yield* (yield* CredentialStore).loadClient(issuer);
    if (Option.isSome(stored) && stored.value.clientId === clientId) return stored.value;
    return yield* new InvalidClientConfiguration({
      reason: `client ${clientId} at ${issuer} is neither configured nor stored any more`,
    });
  });

export const register = (input: RegisterInput) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis;
    const pre = preRegisteredClient(input.settings, input.issuer, now);
    if (pre !== undefined) return { client: pre, via: "pre-registered" } satisfies Registration;

    const store = yield* CredentialStore;
    const stored = yield* store.loadClient(input.issuer);
    if (
      Option.isSome(stored) &&
      isStillValid(stored.value, input.settings, now, input.grantTypes)
    ) {
      return { client: stored.value, via: "store" } satisfies Registration;
    }

    const cimd = metadataDocumentClient(input.settings, input.issuer, now);
    if (cimd !== undefined && input.metadata.client_id_metadata_document_supported === true) {
      const reason = clientMetadataUrlProblem(cimd.clientId);
      if (reason) return yield* new InvalidClientConfiguration({ reason });
      return { client: cimd, via: "client-id-metadata-document" } satisfies Registration;
    }

    // A profile that knows this server registers no client dynamically (an endpoint that wants an
    // administrator's token, or none at all) says where a client is registered instead.
    const preRegistration = input.quirks?.adjustments.preRegistration;
    if (preRegistration !== undefined) {
      return yield* new RegistrationUnavailable({
        issuer: input.issuer,
        profile: input.quirks?.profile,
        reason: preRegistration.why,
        consoleUrl: preRegistration.consoleUrl,
      });
    }
    if (input.metadata.registration_endpoint === undefined) {
      return yield* new RegistrationUnavailable({ issuer: input.issuer });
    }
    const client = yield* registerDynamically(input, input.metadata.registration_endpoint, now);
    yield* store.saveClient(client);
    return { client, via: "dynamic" } satisfies Registration;
  });

/**
 * Whether the client's secret has expired at `now` (epoch ms). RFC 7591 §3.2.1:
 * `client_secret_expires_at` is in seconds, and 0 (or absent) means it never expires.
 */
export const clientSecretExpired = (
  client: Pick<ClientRegistration, "clientSecret" | "clientSecretExpiresAt">,
  now: number,
): boolean => {
  const expires = client.clientSecretExpiresAt;
  return (
    client.clientSecret !== undefined &&
    expires !== undefined &&
    expires !== 0 &&
    expires * 1000 <= now
  );
};

/**
 * A stored client is reused while its secret is valid, it was registered for the grants asked
 * for, and (for the authorization code) it knows our redirect URIs.
 */
const isStillValid = (
  client: ClientRegistration,
  settings: ClientSettings,
  now: number,
  grantTypes: readonly string[] | undefined,
) =>
  !clientSecretExpired(client, now) &&
  (grantTypes === undefined ||
    grantTypes.every((grant) => (client.grantTypes ?? []).includes(grant))) &&
  (grantTypes !== undefined && !grantTypes.includes("authorization_code")
    ? true
    : registeredRedirectUris(settings).every((uri) => client.redirectUris.includes(uri)));

/**
 * A client ID metadata document URL: https with a path; no userinfo, fragment, dot segments
 * (draft-ietf-oauth-client-id-metadata-document-00 §3; MCP "Client ID Metadata Documents").
 */
export const clientMetadataUrlProblem = (value: string): string | undefined => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "clientMetadataUrl is not an absolute URL";
  }
  if (url.protocol !== "https:") return "clientMetadataUrl must use https";
  if (url.username !== "" || url.password !== "")
    return "clientMetadataUrl must not carry userinfo";
  if (value.includes("#")) return "clientMetadataUrl must not have a fragment";
  if (url.pathname === "/" || url.pathname === "") return "clientMetadataUrl must have a path";
  if (/\/\.{1,2}(\/|$)/.test(value.replace(/[?#].*$/, "").slice(url.origin.length)))
    return "clientMetadataUrl must not contain . or .. segments";
  return undefined;
};

export const defaultApplicationType = (redirectUris: readonly string[]): "native" | "web" =>
  redirectUris.every((uri) => {
    try {
      const url = new URL(uri);
      return (
        (url.protocol === "http:" && isLoopbackHost(url.hostname)) ||
        !url.protocol.startsWith("http")
      );
    } catch {
      return false;
    }
  })
    ? "native"
    : "web";

/**
 * RFC 7591 §3.1, §3.2; `application_type` per SEP-837 ("Update authorization spec to clarify client
 * type requirements"). `scope` is always sent when there is one (Fastmail requires it).
 */
const registerDynamically = (input: RegisterInput, endpoint: string, now: number) =>
  Effect.gen(function* () {
    const http = yield* OAuthHttp;
    const { settings } = input;
    const requestedMethod =
      settings.tokenEndpointAuthMethod ?? (settings.signingKey ? "private_key_jwt" : "none");
    const scope = formatScope(input.scopes);
    const grantTypes = input.grantTypes ?? ["authorization_code", "refresh_token"];
    const withRedirect = grantTypes.includes("authorization_code");
    const body = {
      client_name: settings.clientName,
      ...(withRedirect ? { redirect_uris: registeredRedirectUris(settings) } : {}),
      grant_types: grantTypes,
      response_types: withRedirect ? ["code"] : [],
      token_endpoint_auth_method: requestedMethod,
      application_type:
        settings.applicationType ?? defaultApplicationType(settings.redirectUris ?? []),
      ...(scope === undefined ? {} : { scope }),
    };
    const response = yield* http.send({
      method: "POST",
      url: endpoint,
      body: { _tag: "json", value: body },
    });
    if (response.status === 200 || response.status === 201) {
      const json = yield* readJsonObject(response);
      const info = yield* decodeDocument(
        ClientInformationResponse,
        "client registration response",
        endpoint,
      )(json);
      const client = {
        issuer: input.issuer,
        kind: "dynamic",
        clientId: info.client_id,
        clientSecret:
          info.client_secret === undefined ? undefined : Redacted.make(info.client_secret),
        clientSecretExpiresAt: info.client_secret_expires_at,
        // RFC 7591 §3.2.1: the server's answer wins over what was asked for.
        tokenEndpointAuthMethod:
          info.token_endpoint_auth_method ??
          (info.client_secret === undefined ? requestedMethod : "client_secret_basic"),
        redirectUris: info.redirect_uris ?? (withRedirect ? registeredRedirectUris(settings) : []),
        grantTypes: info.grant_types ?? [...grantTypes],
        scope: info.scope ?? scope,
        registeredAt: now,
      } satisfies ClientRegistration;
      // A secret that is expired on arrival is never used (nor stored): the server's clock or
      // its answer is wrong, and registering again would get the same answer.
      if (clientSecretExpired(client, now)) {
        return yield* new ClientSecretExpired({
          issuer: input.issuer,
          expiredAt: info.client_secret_expires_at ?? 0,
        });
      }
      return client;
    }
    if (response.status >= 400 && response.status < 500) {
      const error = yield* readJsonObject(response).pipe(
        Effect.flatMap(decodeDocument(OAuthErrorResponse, "registration error", endpoint)),
        Effect.option,
      );
      return yield* new RegistrationRejected({
        issuer: input.issuer,
        status: response.status,
        error: Option.getOrUndefined(Option.map(error, (e) => e.error)),
        errorDescription: Option.getOrUndefined(
          Option.flatMapNullable(error, (e) => e.error_description),
        ),
      });
    }
    return yield* new UnexpectedStatus({ url: endpoint, status: response.status, expected: "201" });
  });
