/**
 * Step 2: authorization-server metadata (RFC 8414, OIDC Discovery; MCP "Authorization Server
 * Metadata Discovery").
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#authorization-server-metadata-discovery
 */
import { Effect } from "effect";
import {
  AuthServerMetadataNotFound,
  InvalidDocument,
  IssuerMismatch,
  PkceUnsupported,
} from "../errors.js";
import { authorizationServerMetadataUrls } from "../protocol/metadata-urls.js";
import { sameOrigin } from "../protocol/resource-uri.js";
import {
  type AuthorizationServerMetadata,
  decodeDocument,
  AuthorizationServerMetadata as Metadata,
} from "../schema/wire.js";
import { checkTransportSecurity, OAuthHttp, readJsonObject } from "../services/http.js";
import { type ProbeAttempt, probeInOrder } from "./probe.js";

export interface AuthServerDiscovery {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  /** Where the metadata came from; "defaults" for the 2025-03-26 fallback (MCP 2025-03-26). */
  readonly metadataUrl: string;
  readonly attempts: readonly ProbeAttempt[];
  readonly legacy: boolean;
}

export const discoverAuthServer = (issuer: string, options: DiscoveryOptions = {}) =>
  Effect.gen(function* () {
    const found = yield* lookUp(issuer, exactIssuer(issuer), options);
    if (found._tag === "NotFound") {
      return yield* new AuthServerMetadataNotFound({
        issuer,
        tried: found.attempts.map((a) => `${a.url} (${a.status})`),
      });
    }
    return found.discovery;
  });

/**
 * Optional back-compat: a 2025-03-26 server without protected-resource metadata. Its origin is the
 * authorization server: RFC 8414 metadata at the origin if it has some, otherwise the default
 * endpoints /authorize, /token and /register. The 2025-03-26 revision made PKCE mandatory for all
 * servers, which is why the synthesized metadata may claim S256.
 *
 * The issuer check differs here, and only here. MCP 2025-03-26 §2.3.2 ("Authorization Base URL")
 * puts the metadata at the MCP server's origin by discarding the path — "the metadata endpoint
 * MUST be at https://api.example.com/.well-known/oauth-authorization-server" — so the URL is not
 * built from an issuer identifier anybody advertised, and an authorization server that lives under
 * a path of that origin (issuer `https://api.example.com/oauth`) is still found at the root URL.
 * RFC 8414 §3.3 compares the issuer with the one the URL was built from; there is none, so the
 * document's own issuer is accepted when it is on the same origin that served it (the trust the
 * client had in the MCP server's origin is all there is), has no query or fragment (RFC 8414 §2),
 * and becomes the issuer for everything after (RFC 9207 `iss` checks, credential binding). An
 * issuer on any other origin is still an IssuerMismatch. Everywhere else RFC 8414 §3.3 stays
 * strict.
 *
 * @see https://modelcontextprotocol.io/specification/2025-03-26/basic/authorization#fallbacks-for-servers-without-metadata-discovery
 */
export const discoverLegacyAuthServer = (serverUrl: string) =>
  Effect.gen(function* () {
    const origin = new URL(serverUrl).origin;
    const http = yield* OAuthHttp;
    const insecure = checkTransportSecurity(origin, http.policy);
    if (insecure) return yield* insecure;
    const found = yield* lookUp(origin, sameOriginIssuer(origin));
    if (found._tag === "Found") return { ...found.discovery, legacy: true };
    return {
      issuer: origin,
      metadataUrl: "defaults",
      attempts: found.attempts,
      legacy: true,
      metadata: {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        code_challenge_methods_supported: ["S256"],
      },
    } satisfies AuthServerDiscovery;
  });

/** Simple string comparison with the issuer the URL was built from (RFC 8414 §3.3). */
const exactIssuer = (issuer: string) => (claimed: string) => claimed === issuer;

/**
 * The 2025-03-26 fallback only (see discoverLegacyAuthServer): the origin itself, or an issuer
 * URL on that origin without userinfo, query or fragment. Pure; exported for tests.
 */
export const sameOriginIssuer = (origin: string) => (claimed: string) => {
  if (claimed === origin) return true;
  if (!sameOrigin(claimed, origin) || /[?#]/.test(claimed)) return false;
  const url = new URL(claimed);
  return url.username === "" && url.password === "";
};

export interface DiscoveryOptions {
  /**
   * The metadata serves the authorization code (the default): it must have an authorization
   * endpoint and advertise PKCE S256 (MCP "Authorization Code Protection"). A grant without a
   * browser step (client credentials, JWT bearer, device code) needs neither.
   */
  readonly forAuthorizationCode?: boolean | undefined;
}

/**
 * Probes the metadata locations built from `base` and decodes the first document; `accepts` says
 * whether its `issuer` may be used, and the discovery carries that issuer.
 */
const lookUp = (
  base: string,
  accepts: (claimed: string) => boolean,
  options: DiscoveryOptions = {},
) =>
  Effect.gen(function* () {
    const probed = yield* probeInOrder(authorizationServerMetadataUrls(base));
    if (probed._tag === "NotFound") return probed;
    const metadataUrl = probed.candidate.url;
    const json = yield* readJsonObject(probed.response);
    const metadata = yield* decodeDocument(
      Metadata,
      "authorization-server metadata",
      metadataUrl,
    )(json);
    // RFC 8414 §3.3: metadata whose issuer is not the expected one MUST NOT be used.
    if (!accepts(metadata.issuer)) {
      return yield* new IssuerMismatch({ expected: base, actual: metadata.issuer, metadataUrl });
    }
    yield* checkUsable(metadata, metadataUrl, options.forAuthorizationCode ?? true);
    const discovery: AuthServerDiscovery = {
      issuer: metadata.issuer,
      metadata,
      metadataUrl,
      attempts: probed.attempts,
      legacy: false,
    };
    return { _tag: "Found" as const, discovery };
  });

/**
 * PKCE S256 advertised (MCP "Authorization Code Protection") and every endpoint https, loopback
 * http by policy (MCP "Communication Security").
 */
const checkUsable = (
  metadata: AuthorizationServerMetadata,
  metadataUrl: string,
  forAuthorizationCode: boolean,
) =>
  Effect.gen(function* () {
    if (forAuthorizationCode) {
      // RFC 8414 §2: authorization_endpoint is required when a grant uses it — this one does.
      if (metadata.authorization_endpoint === undefined) {
        return yield* new InvalidDocument({
          url: metadataUrl,
          document: "authorization-server metadata",
          issues: ["authorization_endpoint is missing"],
        });
      }
      const methods = metadata.code_challenge_methods_supported;
      if (methods === undefined || !methods.includes("S256")) {
        return yield* new PkceUnsupported({ issuer: metadata.issuer, advertised: methods });
      }
    }
    const http = yield* OAuthHttp;
    for (const endpoint of [
      metadata.authorization_endpoint,
      metadata.token_endpoint,
      metadata.registration_endpoint,
    ]) {
      if (endpoint === undefined) continue;
      const insecure = checkTransportSecurity(endpoint, http.policy);
      if (insecure) return yield* insecure;
    }
  });
