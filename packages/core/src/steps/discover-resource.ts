/**
 * Step 1: protected-resource metadata (RFC 9728; MCP "Authorization Server Discovery"). Finds the
 * metadata for an MCP server, validates its `resource` against the server the client asked about,
 * and names the authorization server to use.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3
 */
import { Effect } from "effect";
import {
  InvalidResourceUri,
  NoAuthorizationServer,
  ResourceMetadataNotFound,
  ResourceMismatch,
} from "../errors.js";
import {
  type MetadataCandidate,
  protectedResourceMetadataUrls,
} from "../protocol/metadata-urls.js";
import { canonicalResourceUri, sameOrigin } from "../protocol/resource-uri.js";
import { decodeDocument, ProtectedResourceMetadata } from "../schema/wire.js";
import { checkTransportSecurity, OAuthHttp, readJsonObject } from "../services/http.js";
import { type ProbeAttempt, probeInOrder } from "./probe.js";

/**
 * How the metadata's `resource` must relate to the MCP server URL (RFC 9728 §3.3).
 * - "strict" (default): identical to the URL the client was given, or to its canonical form.
 * - "same-origin-path-prefix": an explicit opt-in for servers that publish their origin (or a
 *   parent path) while serving `/mcp`: same origin and a path prefix on a segment boundary.
 * A different origin is refused under every policy.
 */
export type ResourceMatchPolicy = "strict" | "same-origin-path-prefix";

export interface DiscoverResourceInput {
  /** The MCP server URL as the application configured it. */
  readonly serverUrl: string;
  /** `resource_metadata` from the 401 challenge, if any (RFC 9728 §5.1). */
  readonly resourceMetadataUrl?: string | undefined;
  readonly policy?: ResourceMatchPolicy | undefined;
  /** Choose among several authorization servers (RFC 9728 §7.6). Default: the first. */
  readonly chooseAuthorizationServer?:
    | ((issuers: readonly string[]) => string | undefined)
    | undefined;
}

export interface ResourceDiscovery {
  /** The validated `resource` of the metadata: what is sent as the `resource` parameter. */
  readonly resource: string;
  readonly metadata: ProtectedResourceMetadata;
  readonly metadataUrl: string;
  readonly source: MetadataCandidate["source"];
  readonly authorizationServer: string;
  readonly attempts: readonly ProbeAttempt[];
  /** A challenge's resource_metadata that could not be used, and why. */
  readonly ignoredResourceMetadata?:
    | { readonly value: string; readonly reason: string }
    | undefined;
}

export const discoverResource = (input: DiscoverResourceInput) =>
  Effect.gen(function* () {
    const canonical = canonicalResourceUri(input.serverUrl);
    if (!canonical.ok) {
      return yield* new InvalidResourceUri({ input: input.serverUrl, reason: canonical.reason });
    }
    const { candidates, ignoredResourceMetadata } = protectedResourceMetadataUrls(
      input.serverUrl,
      input.resourceMetadataUrl,
    );
    const probed = yield* probeInOrder(candidates);
    if (probed._tag === "NotFound") {
      return yield* new ResourceMetadataNotFound({
        resource: canonical.uri,
        tried: probed.attempts.map((a) => `${a.url} (${a.status})`),
      });
    }
    const metadataUrl = probed.candidate.url;
    const json = yield* readJsonObject(probed.response);
    const metadata = yield* decodeDocument(
      ProtectedResourceMetadata,
      "protected-resource metadata",
      metadataUrl,
    )(json);

    if (
      !resourceMatches(metadata.resource, input.serverUrl, canonical.uri, input.policy ?? "strict")
    ) {
      return yield* new ResourceMismatch({
        expected: canonical.uri,
        actual: metadata.resource,
        metadataUrl,
      });
    }
    const issuers = metadata.authorization_servers ?? [];
    const chosen = input.chooseAuthorizationServer
      ? input.chooseAuthorizationServer(issuers)
      : issuers[0];
    if (chosen === undefined || !issuers.includes(chosen)) {
      return yield* new NoAuthorizationServer({ resource: metadata.resource, metadataUrl });
    }
    // The issuer is a URL the client will contact: https (loopback by policy), and no private
    // address a remote server may not point it at (RFC 9728 §7.7).
    const insecure = checkTransportSecurity(chosen, (yield* OAuthHttp).policy);
    if (insecure) return yield* insecure;
    return {
      resource: metadata.resource,
      metadata,
      metadataUrl,
      source: probed.candidate.source,
      authorizationServer: chosen,
      attempts: probed.attempts,
      ignoredResourceMetadata,
    } satisfies ResourceDiscovery;
  });

/** The `resource` check of RFC 9728 §3.3, and the opt-in relaxation. Pure; exported for tests. */
export const resourceMatches = (
  published: string,
  requested: string,
  requestedCanonical: string,
  policy: ResourceMatchPolicy,
): boolean => {
  // RFC 9728 §3.3: identical, code point for code point.
  if (published === requested || published === requestedCanonical) return true;
  if (policy === "strict") return false;
  const publishedCanonical = canonicalResourceUri(published);
  if (!publishedCanonical.ok || !sameOrigin(publishedCanonical.uri, requestedCanonical))
    return false;
  const parent = new URL(publishedCanonical.uri);
  const child = new URL(requestedCanonical);
  if (parent.search !== "" && parent.search !== child.search) return false;
  const parentPath = parent.pathname.replace(/\/+$/, "");
  return child.pathname === parentPath || child.pathname.startsWith(`${parentPath}/`);
};
