/**
 * What an MCP server advertises about its authorization, collected from a probe's record: its
 * challenge, its protected-resource metadata (RFC 9728 §2) and, for each authorization server,
 * the registration paths (MCP "Client Registration Approaches"), PKCE methods, RFC 9207 `iss`,
 * DPoP algorithms (RFC 9449 §5.1), grants and scopes (RFC 8414 §2). Pure; every URL shown
 * through `shownUrl`.
 */
import type { AuthorizationServerMetadata } from "../schema/wire.js";
import {
  type AuthServerRecord,
  firstDocument,
  type ProbeRecord,
  shownUrl,
  wasRedirected,
} from "./record.js";

export interface AdvertisedChallenge {
  /** The status of the unauthenticated `initialize` (absent: it redirected or failed). */
  readonly status?: number | undefined;
  /** 401 or 403: the server asks for authorization. */
  readonly protected: boolean;
  readonly scheme?: "Bearer" | "DPoP" | undefined;
  readonly error?: string | undefined;
  readonly scope?: readonly string[] | undefined;
  readonly resourceMetadata?: string | undefined;
}

export interface AdvertisedResource {
  /** Where the document was found (after redirects, if any). */
  readonly metadataUrl: string;
  readonly redirected: boolean;
  readonly resource: string;
  readonly authorizationServers: readonly string[];
  readonly scopesSupported?: readonly string[] | undefined;
  readonly bearerMethodsSupported?: readonly string[] | undefined;
  readonly resourceName?: string | undefined;
}

export interface AdvertisedRegistration {
  /** A client registered with the operator beforehand: always possible, never advertised. */
  readonly preRegistered: true;
  /** `client_id_metadata_document_supported` (MCP "Client ID Metadata Documents"). */
  readonly clientIdMetadataDocument: boolean;
  /** `registration_endpoint` (RFC 7591), if any. */
  readonly dynamic?: string | undefined;
}

export interface AdvertisedAuthServer {
  readonly issuer: string;
  /** Why a client refuses to contact it, if it does. */
  readonly refused?: string | undefined;
  /** The first metadata document found (after redirects, if any). */
  readonly metadataUrl?: string | undefined;
  readonly redirected?: boolean | undefined;
  /** The locations that served a metadata document directly. */
  readonly foundAt: readonly string[];
  /** The document's own `issuer`. */
  readonly claimedIssuer?: string | undefined;
  readonly registration?: AdvertisedRegistration | undefined;
  readonly pkceMethods?: readonly string[] | undefined;
  /** RFC 9207 `authorization_response_iss_parameter_supported`. */
  readonly issParameter?: boolean | undefined;
  readonly dpopAlgorithms?: readonly string[] | undefined;
  readonly grantTypes?: readonly string[] | undefined;
  readonly responseTypes?: readonly string[] | undefined;
  readonly tokenEndpointAuthMethods?: readonly string[] | undefined;
  readonly scopesSupported?: readonly string[] | undefined;
  readonly endpoints?: Readonly<Record<string, string>> | undefined;
}

export interface Advertised {
  readonly server: string;
  readonly challenge: AdvertisedChallenge;
  readonly resourceMetadata?: AdvertisedResource | undefined;
  /** No protected-resource metadata: the origin was probed as a 2025-03-26 server. */
  readonly legacy: boolean;
  readonly authorizationServers: readonly AdvertisedAuthServer[];
}

const endpointsOf = (metadata: AuthorizationServerMetadata): Record<string, string> => {
  const entries: [string, string | undefined][] = [
    ["authorization", metadata.authorization_endpoint],
    ["token", metadata.token_endpoint],
    ["registration", metadata.registration_endpoint],
    ["revocation", metadata.revocation_endpoint],
    ["device_authorization", metadata.device_authorization_endpoint],
  ];
  return Object.fromEntries(
    entries.flatMap(([name, url]) => (url === undefined ? [] : [[name, shownUrl(url)]])),
  );
};

const authServerOf = (record: AuthServerRecord): AdvertisedAuthServer => {
  const issuer = shownUrl(record.issuer);
  if (record.refused !== undefined) return { issuer, refused: record.refused, foundAt: [] };
  const foundAt = record.lookups
    .filter((l) => l.outcome._tag === "Document" && !wasRedirected(l))
    .map((l) => shownUrl(l.url));
  const found = firstDocument(record.lookups);
  if (found === undefined) return { issuer, foundAt };
  const m = found.document;
  const last = found.lookup.hops.at(-1);
  return {
    issuer,
    metadataUrl: shownUrl(last?.url ?? found.lookup.url),
    redirected: wasRedirected(found.lookup),
    foundAt,
    claimedIssuer: shownUrl(m.issuer),
    registration: {
      preRegistered: true,
      clientIdMetadataDocument: m.client_id_metadata_document_supported === true,
      dynamic:
        m.registration_endpoint === undefined ? undefined : shownUrl(m.registration_endpoint),
    },
    pkceMethods: m.code_challenge_methods_supported,
    issParameter: m.authorization_response_iss_parameter_supported,
    dpopAlgorithms: m.dpop_signing_alg_values_supported,
    grantTypes: m.grant_types_supported,
    responseTypes: m.response_types_supported,
    tokenEndpointAuthMethods: m.token_endpoint_auth_methods_supported,
    scopesSupported: m.scopes_supported,
    endpoints: endpointsOf(m),
  };
};

/** What the server advertises, as far as the probe could read it. */
export const collectAdvertised = (record: ProbeRecord): Advertised => {
  const { hop, challenge } = record.challenge;
  const prm = firstDocument(record.resourceMetadata);
  const last = prm?.lookup.hops.at(-1);
  return {
    server: shownUrl(record.serverUrl),
    challenge: {
      status: hop.status,
      protected: hop.status === 401 || hop.status === 403,
      scheme: challenge?.scheme,
      error: challenge?.error,
      scope: challenge?.scope,
      resourceMetadata:
        challenge?.resourceMetadata === undefined
          ? undefined
          : shownUrl(challenge.resourceMetadata),
    },
    resourceMetadata:
      prm === undefined
        ? undefined
        : {
            metadataUrl: shownUrl(last?.url ?? prm.lookup.url),
            redirected: wasRedirected(prm.lookup),
            resource: shownUrl(prm.document.resource),
            authorizationServers: (prm.document.authorization_servers ?? []).map(shownUrl),
            scopesSupported: prm.document.scopes_supported,
            bearerMethodsSupported: prm.document.bearer_methods_supported,
            resourceName: prm.document.resource_name,
          },
    legacy: record.legacy,
    authorizationServers: record.authorizationServers.map(authServerOf),
  };
};
