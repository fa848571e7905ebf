/**
 * Where to look for metadata: the candidate URLs of the protected resource metadata (RFC 9728
 * §3.1, §5.1) and of the authorization server metadata (RFC 8414 §3.1; OpenID Connect Discovery
 * 1.0 §4), in the order a client must try them.
 *
 * Pure: builds URLs, fetches nothing, never throws.
 */
import { isLoopbackHost, stripTrailingSlashes, tryParseUrl } from "./resource-uri.js";

/** One URL to try, and why it is on the list. */
export interface MetadataCandidate {
  readonly url: string;
  readonly source: "challenge" | "path-aware" | "root";
}

/** The PRM URLs to try, in order; plus the challenge's `resource_metadata` if it was refused. */
export interface PrmCandidates {
  readonly candidates: readonly MetadataCandidate[];
  readonly ignoredResourceMetadata?: { readonly value: string; readonly reason: string };
}

const PRM_SUFFIX = "/.well-known/oauth-protected-resource";

/** Why a `resource_metadata` value cannot be fetched, or `undefined` when it can (https only). */
const resourceMetadataProblem = (value: string, url: URL | undefined): string | undefined => {
  if (value.length === 0) return "resource_metadata is empty";
  if (url === undefined) return "resource_metadata is not an absolute URL";
  // Userinfo first: a loopback http URL is no exception (it would send credentials nobody gave).
  if (url.username !== "" || url.password !== "") return "resource_metadata must not have userinfo";
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return undefined;
  if (url.protocol !== "https:") {
    return "resource_metadata must use https (http only on a loopback host)";
  }
  return undefined;
};

/**
 * Candidate URLs of the protected resource metadata (RFC 9728), in the order MCP prescribes:
 *
 * 1. `challenge`: the 401 challenge's `resource_metadata` (RFC 9728 §5.1), only if it is an
 *    absolute https URL (or http on a loopback host, MCP "Communication Security"); its fragment,
 *    if any, is dropped (never sent in a request). Otherwise — relative, unparseable, empty,
 *    plain http, userinfo — it is reported in `ignoredResourceMetadata` with the reason and
 *    probing continues with the well-known URLs (ignore and probe: the server still told us
 *    it is protected, and the well-known locations are where MCP says to look next).
 * 2. `path-aware`: `{origin}/.well-known/oauth-protected-resource{path}{query}` (RFC 9728 §3.1),
 *    skipped when the path is empty or `/`.
 * 3. `root`: `{origin}/.well-known/oauth-protected-resource{query}`.
 *
 * Per RFC 9728 §3.1 the well-known string goes between the host and the path, trailing `/` of the
 * path removed first, and the resource's query is kept — on the path-aware URL and, for
 * consistency, on the root URL too (a query identifies the resource as much as the path does;
 * for a root resource with a query the two coincide and appear once). The fragment and userinfo of
 * the resource URL are never copied. No URL appears twice (the first source wins). A resource URL
 * that is not absolute http(s) yields no well-known candidates.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#protected-resource-metadata-discovery-requirements
 *   (MCP "Protected Resource Metadata Discovery Requirements")
 */
export function protectedResourceMetadataUrls(
  resourceUrl: string,
  challengeResourceMetadata?: string,
): PrmCandidates {
  const candidates: MetadataCandidate[] = [];
  const add = (url: string, source: MetadataCandidate["source"]): void => {
    if (!candidates.some((c) => c.url === url)) candidates.push({ url, source });
  };

  let ignored: PrmCandidates["ignoredResourceMetadata"];
  if (typeof challengeResourceMetadata === "string") {
    const parsed = tryParseUrl(challengeResourceMetadata);
    const reason = resourceMetadataProblem(challengeResourceMetadata, parsed);
    if (reason === undefined && parsed !== undefined) {
      parsed.hash = ""; // a fragment is never sent in a request; drop it so duplicates match
      add(parsed.href, "challenge");
    } else if (reason !== undefined) ignored = { value: challengeResourceMetadata, reason };
  }

  const resource = typeof resourceUrl === "string" ? tryParseUrl(resourceUrl) : undefined;
  if (resource !== undefined && (resource.protocol === "https:" || resource.protocol === "http:")) {
    const path = stripTrailingSlashes(resource.pathname);
    const query = resource.search;
    if (path !== "") add(`${resource.origin}${PRM_SUFFIX}${path}${query}`, "path-aware");
    add(`${resource.origin}${PRM_SUFFIX}${query}`, "root");
  }

  return ignored === undefined ? { candidates } : { candidates, ignoredResourceMetadata: ignored };
}

/** One AS metadata URL to try, and which document type it serves. */
export interface AsMetadataCandidate {
  readonly url: string;
  readonly kind: "oauth-authorization-server" | "openid-configuration";
}

/**
 * Candidate URLs of the authorization server metadata for an issuer (RFC 8414 §3.1, §5; OpenID
 * Connect Discovery 1.0 §4.1; MCP "Authorization Server Metadata Discovery"), trailing `/` of the
 * issuer removed first (RFC 8414 §3.1, OIDC Discovery §4.1).
 *
 * - Issuer with a path (`https://as/t1`):
 *   1. `https://as/.well-known/oauth-authorization-server/t1` (RFC 8414 §3.1 insertion),
 *   2. `https://as/.well-known/openid-configuration/t1` (RFC 8414 §5 compatibility form),
 *   3. `https://as/t1/.well-known/openid-configuration` (OIDC Discovery §4.1 appending).
 * - Issuer without a path: `/.well-known/oauth-authorization-server`, then
 *   `/.well-known/openid-configuration`.
 *
 * Returns `[]` for an invalid issuer: not an absolute http(s) URL, or with a query, a fragment or
 * userinfo (RFC 8414 §2 forbids query and fragment in an issuer). Whether plain http is acceptable
 * is the HTTP layer's policy, not decided here. The path is kept case-sensitive as written,
 * because the fetched document's `issuer` must equal it (RFC 8414 §3.3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.1
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#authorization-server-metadata-discovery
 */
export function authorizationServerMetadataUrls(issuer: string): readonly AsMetadataCandidate[] {
  if (typeof issuer !== "string" || issuer.includes("#") || issuer.includes("?")) return [];
  const url = tryParseUrl(issuer);
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) return [];
  if (url.username !== "" || url.password !== "" || url.host === "") return [];
  const origin = url.origin;
  const path = stripTrailingSlashes(url.pathname);
  if (path === "") {
    return [
      {
        url: `${origin}/.well-known/oauth-authorization-server`,
        kind: "oauth-authorization-server",
      },
      { url: `${origin}/.well-known/openid-configuration`, kind: "openid-configuration" },
    ];
  }
  return [
    {
      url: `${origin}/.well-known/oauth-authorization-server${path}`,
      kind: "oauth-authorization-server",
    },
    { url: `${origin}/.well-known/openid-configuration${path}`, kind: "openid-configuration" },
    { url: `${origin}${path}/.well-known/openid-configuration`, kind: "openid-configuration" },
  ];
}
