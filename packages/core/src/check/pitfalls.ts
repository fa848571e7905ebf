/**
 * Where clients trip on an MCP server's authorization: each known pitfall, judged from a probe's
 * record with the evidence (the URL fetched, its status, the offending value). Pure.
 *
 * Severity: "error" — a client that follows the MCP authorization spec (2025-11-25) cannot
 * complete discovery or must refuse to authorize; "warning" — such a client gets through, but
 * clients that take a common shortcut (one discovery form, scopes filtered through
 * `scopes_supported`, dynamic registration only) do not.
 */

import { stripTrailingSlashes, tryParseUrl } from "../protocol/resource-uri.js";
import { unionScopes } from "../protocol/scopes.js";
import type { AuthorizationServerMetadata } from "../schema/wire.js";
import { checkTransportSecurity } from "../services/http.js";
import { sameOriginIssuer } from "../steps/discover-auth-server.js";
import { resourceMatches } from "../steps/discover-resource.js";
import {
  type AuthServerRecord,
  firstDocument,
  type Hop,
  type Lookup,
  type ProbeRecord,
  shownUrl,
  walkAsClient,
  wasRedirected,
} from "./record.js";

export type PitfallId =
  | "no-challenge"
  | "unusable-resource-metadata-url"
  | "resource-metadata-not-found"
  | "metadata-redirect"
  | "discovery-stopped"
  | "invalid-metadata"
  | "resource-mismatch"
  | "no-authorization-server"
  | "insecure-authorization-server"
  | "authorization-server-metadata-not-found"
  | "issuer-mismatch"
  | "path-issuer-one-form"
  | "no-s256"
  | "no-authorization-endpoint"
  | "authorization-code-not-offered"
  | "insecure-endpoint"
  | "no-registration-path"
  | "no-public-client-auth"
  | "scopes-not-listed"
  | "dpop-not-advertised";

/** What was fetched and what it said. */
export interface Evidence {
  readonly url: string;
  readonly status?: number | undefined;
  /** Where a 3xx pointed. */
  readonly location?: string | undefined;
  /** The offending value, or what went wrong. */
  readonly value?: string | undefined;
}

export interface Pitfall {
  readonly id: PitfallId;
  readonly severity: "error" | "warning";
  /** One sentence: what is wrong and who trips on it. */
  readonly summary: string;
  readonly evidence: readonly Evidence[];
  /** The section of the spec that makes it a pitfall. */
  readonly see: string;
}

const MCP = "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization";
const see = {
  challenge: `${MCP}#protected-resource-metadata-discovery-requirements`,
  resourceMetadataUrl: "https://www.rfc-editor.org/rfc/rfc9728#section-5.1",
  resourceDiscovery: `${MCP}#authorization-server-discovery`,
  prmResponse: "https://www.rfc-editor.org/rfc/rfc9728#section-3.2",
  asResponse: "https://www.rfc-editor.org/rfc/rfc8414#section-3.2",
  resource: "https://www.rfc-editor.org/rfc/rfc9728#section-3.3",
  asLocation: `${MCP}#authorization-server-location`,
  security: `${MCP}#communication-security`,
  asDiscovery: `${MCP}#authorization-server-metadata-discovery`,
  issuer: "https://www.rfc-editor.org/rfc/rfc8414#section-3.3",
  pkce: `${MCP}#authorization-code-protection`,
  asMetadata: "https://www.rfc-editor.org/rfc/rfc8414#section-2",
  registration: `${MCP}#client-registration-approaches`,
  publicClient: "https://www.rfc-editor.org/rfc/rfc7591#section-2",
  scopes: `${MCP}#scope-selection-strategy`,
  dpop: "https://www.rfc-editor.org/rfc/rfc9449#section-5.1",
} as const;

const evidenceOf = (hop: Hop, value?: string): Evidence => ({
  url: shownUrl(hop.url),
  status: hop.status,
  location: hop.location === undefined ? undefined : shownUrl(hop.location),
  value: value ?? hop.failure?.message,
});

const firstHop = (lookup: Lookup<unknown, string>): Hop =>
  lookup.hops[0] ?? { method: "GET", url: lookup.url };

/** Where a lookup ended: its last hop, for a document's evidence. */
const lastHop = (lookup: Lookup<unknown, string>): Hop =>
  lookup.hops.at(-1) ?? { method: "GET", url: lookup.url };

/**
 * Where a client walking the locations in order stops before it finds a document: behind a
 * redirect, at a status that is neither 200 nor 4xx (or no answer), or at a broken document.
 */
const judgeWalk = <D, S extends string>(
  lookups: readonly Lookup<D, S>[],
  what: string,
  response: string,
): Pitfall[] => {
  const walk = walkAsClient(lookups);
  if (walk._tag !== "Stopped") return [];
  const { lookup } = walk;
  const outcome = lookup.outcome;
  if (wasRedirected(lookup)) {
    const behind =
      outcome._tag === "Document"
        ? `the ${what} is behind it, at ${shownUrl(lastHop(lookup).url)}`
        : "nothing usable is behind it";
    return [
      {
        id: "metadata-redirect",
        severity: "error",
        summary: `The ${what} location ${shownUrl(lookup.url)} redirects (${behind}): metadata must be answered with 200 directly, and clients that follow no redirect in discovery (authchart, among others) stop here.`,
        evidence: lookup.hops.map((hop) => evidenceOf(hop)),
        see: response,
      },
    ];
  }
  if (outcome._tag === "Failed") {
    return [
      {
        id: "discovery-stopped",
        severity: "error",
        summary: `The ${what} location ${shownUrl(lookup.url)} answered neither 200 nor a 4xx (${outcome.problem}): clients stop discovery there instead of trying the next location.`,
        evidence: [evidenceOf(firstHop(lookup), outcome.problem)],
        see: response,
      },
    ];
  }
  const problem =
    outcome._tag === "Invalid"
      ? [outcome.problem, ...outcome.issues].join("; ")
      : outcome._tag === "Document"
        ? (outcome.problem ?? "")
        : "";
  return [
    {
      id: "invalid-metadata",
      severity: "error",
      summary: `The ${what} at ${shownUrl(lookup.url)} is not a usable JSON document: clients stop there.`,
      evidence: [evidenceOf(firstHop(lookup), problem)],
      see: response,
    },
  ];
};

const notFound = (lookups: readonly Lookup<unknown, string>[]): Evidence[] =>
  lookups.map((lookup) => evidenceOf(firstHop(lookup)));

/** `https://as/tenant` has a path: three metadata forms exist (RFC 8414 §3.1, §5; OIDC §4.1). */
const hasPath = (issuer: string): boolean => {
  const url = tryParseUrl(issuer);
  return url !== undefined && stripTrailingSlashes(url.pathname) !== "";
};

const formName = (lookup: Lookup<unknown, string>, issuer: string): string => {
  const url = tryParseUrl(lookup.url);
  if (url?.pathname.startsWith("/.well-known/oauth-authorization-server"))
    return "RFC 8414 (path inserted after /.well-known/oauth-authorization-server)";
  if (url?.pathname.startsWith("/.well-known/openid-configuration"))
    return "RFC 8414 §5 OpenID form (path inserted after /.well-known/openid-configuration)";
  return `OpenID Connect Discovery (/.well-known/openid-configuration appended to ${shownUrl(issuer)})`;
};

const judgeMetadata = (
  record: ProbeRecord,
  server: AuthServerRecord,
  accepts: (claimed: string) => boolean,
): Pitfall[] => {
  const found = firstDocument(server.lookups);
  if (found === undefined) return [];
  const m: AuthorizationServerMetadata = found.document;
  const at = lastHop(found.lookup);
  const here = (value?: string) => [evidenceOf(at, value)];
  const out: Pitfall[] = [];
  const issuer = shownUrl(server.issuer);

  if (!accepts(m.issuer)) {
    out.push({
      id: "issuer-mismatch",
      severity: "error",
      summary: `The metadata of ${issuer} names another issuer (${shownUrl(m.issuer)}): clients must not use it (simple string comparison).`,
      evidence: here(`issuer: ${shownUrl(m.issuer)}`),
      see: see.issuer,
    });
  }

  if (hasPath(server.issuer) && !record.legacy) {
    const direct = server.lookups.filter(
      (l) =>
        l.outcome._tag === "Document" &&
        l.outcome.problem === undefined &&
        !wasRedirected(l) &&
        accepts(l.outcome.document.issuer),
    );
    const [only] = direct;
    if (direct.length === 1 && only !== undefined) {
      out.push({
        id: "path-issuer-one-form",
        severity: "warning",
        summary: `The issuer ${issuer} has a path and its metadata is found only in the ${formName(only, server.issuer)} form: clients that try only another form (many implement just one) find nothing.`,
        evidence: server.lookups.map((l) => evidenceOf(firstHop(l))),
        see: see.asDiscovery,
      });
    }
  }

  const methods = m.code_challenge_methods_supported;
  if (methods === undefined || !methods.includes("S256")) {
    out.push({
      id: "no-s256",
      severity: "error",
      summary:
        methods === undefined
          ? `${issuer} does not advertise code_challenge_methods_supported: MCP clients must refuse to authorize without it.`
          : `${issuer} does not list S256 in code_challenge_methods_supported: MCP clients must refuse to authorize (and must not downgrade to plain).`,
      evidence: here(
        methods === undefined
          ? "code_challenge_methods_supported is absent"
          : `code_challenge_methods_supported: ${JSON.stringify(methods)}`,
      ),
      see: see.pkce,
    });
  }

  if (m.authorization_endpoint === undefined) {
    out.push({
      id: "no-authorization-endpoint",
      severity: "error",
      summary: `The metadata of ${issuer} has no authorization_endpoint: no authorization code flow, so no user can sign in.`,
      evidence: here("authorization_endpoint is absent"),
      see: see.asMetadata,
    });
  }

  const grants = m.grant_types_supported;
  const responses = m.response_types_supported;
  if (
    (grants !== undefined && !grants.includes("authorization_code")) ||
    (responses !== undefined && !responses.includes("code"))
  ) {
    out.push({
      id: "authorization-code-not-offered",
      severity: "error",
      summary: `${issuer} does not offer the authorization code grant that MCP clients use.`,
      evidence: here(
        [
          grants !== undefined && !grants.includes("authorization_code")
            ? `grant_types_supported: ${JSON.stringify(grants)}`
            : undefined,
          responses !== undefined && !responses.includes("code")
            ? `response_types_supported: ${JSON.stringify(responses)}`
            : undefined,
        ]
          .filter((v) => v !== undefined)
          .join("; "),
      ),
      see: see.asMetadata,
    });
  }

  for (const [name, url] of [
    ["authorization_endpoint", m.authorization_endpoint],
    ["token_endpoint", m.token_endpoint],
    ["registration_endpoint", m.registration_endpoint],
  ] as const) {
    if (url === undefined) continue;
    const refused = checkTransportSecurity(url, record.policy);
    if (refused !== undefined) {
      out.push({
        id: "insecure-endpoint",
        severity: "error",
        summary: `The ${name} of ${issuer} is one clients refuse to contact (${refused.reason}).`,
        evidence: here(`${name}: ${shownUrl(url)}`),
        see: see.security,
      });
    }
  }

  const cimd = m.client_id_metadata_document_supported === true;
  const dcr = m.registration_endpoint !== undefined;
  if (!cimd && !dcr) {
    out.push({
      id: "no-registration-path",
      severity: "warning",
      summary: `${issuer} offers neither client ID metadata documents nor dynamic registration: only a client registered with its operator beforehand can sign in; every other MCP client has to ask its user for a client ID.`,
      evidence: here("no registration_endpoint, client_id_metadata_document_supported is not true"),
      see: see.registration,
    });
  }

  const auth = m.token_endpoint_auth_methods_supported;
  if ((cimd || dcr) && auth !== undefined && !auth.includes("none")) {
    out.push({
      id: "no-public-client-auth",
      severity: "warning",
      summary: `${issuer} does not list "none" in token_endpoint_auth_methods_supported: a public client (a client ID metadata document, or a registration with token_endpoint_auth_method "none") may be refused at the token endpoint.`,
      evidence: here(`token_endpoint_auth_methods_supported: ${JSON.stringify(auth)}`),
      see: see.publicClient,
    });
  }

  if (m.scopes_supported !== undefined) {
    const prm = firstDocument(record.resourceMetadata)?.document;
    const challenged = record.challenge.challenge?.scope ?? [];
    const wanted = unionScopes(challenged, prm?.scopes_supported ?? []);
    const listed = new Set(m.scopes_supported);
    const missing = wanted.filter((scope) => !listed.has(scope));
    if (missing.length > 0) {
      out.push({
        id: "scopes-not-listed",
        severity: "warning",
        summary: `Scopes the server asks for are not in the scopes_supported of ${issuer}: clients that filter what they request through scopes_supported drop them and get a token without them (403 insufficient_scope next).`,
        evidence: [
          evidenceOf(at, `not listed: ${missing.join(" ")}`),
          ...(challenged.length > 0
            ? [evidenceOf(record.challenge.hop, `challenge scope: ${challenged.join(" ")}`)]
            : []),
        ],
        see: see.scopes,
      });
    }
  }

  // RFC 9728 §2 and RFC 9449 §5.1: a resource that takes DPoP-bound tokens only, behind an
  // authorization server that does not say it takes proofs.
  const prm = firstDocument(record.resourceMetadata);
  if (
    prm?.document.dpop_bound_access_tokens_required === true &&
    (m.dpop_signing_alg_values_supported ?? []).length === 0
  ) {
    out.push({
      id: "dpop-not-advertised",
      severity: "warning",
      summary: `The resource takes DPoP-bound tokens only (dpop_bound_access_tokens_required), but ${issuer} lists no dpop_signing_alg_values_supported: clients that send DPoP proofs only to an authorization server that lists algorithms get Bearer tokens the resource refuses.`,
      evidence: [
        evidenceOf(lastHop(prm.lookup), "dpop_bound_access_tokens_required: true"),
        evidenceOf(at, "no dpop_signing_alg_values_supported"),
      ],
      see: see.dpop,
    });
  }
  return out;
};

const judgeAuthServer = (record: ProbeRecord, server: AuthServerRecord): Pitfall[] => {
  const issuer = shownUrl(server.issuer);
  if (server.refused !== undefined) {
    return [
      {
        id: "insecure-authorization-server",
        severity: "error",
        summary: `The authorization server ${issuer} is one clients refuse to contact (${server.refused}).`,
        evidence: [{ url: issuer, value: server.refused }],
        see: see.security,
      },
    ];
  }
  const out = judgeWalk(
    server.lookups,
    `authorization-server metadata of ${issuer}`,
    see.asResponse,
  );
  if (firstDocument(server.lookups) === undefined && out.length === 0) {
    out.push({
      id: "authorization-server-metadata-not-found",
      severity: "error",
      summary: record.legacy
        ? `${issuer} has no authorization-server metadata either (RFC 8414, OpenID Connect Discovery).`
        : `No authorization-server metadata for ${issuer} at any of the locations MCP clients try (RFC 8414, OpenID Connect Discovery).`,
      evidence: notFound(server.lookups),
      see: see.asDiscovery,
    });
  }
  const origin = tryParseUrl(record.serverUrl)?.origin ?? record.serverUrl;
  const accepts = record.legacy
    ? sameOriginIssuer(origin)
    : (claimed: string) => claimed === server.issuer;
  return [...out, ...judgeMetadata(record, server, accepts)];
};

/** Every pitfall the probed server triggers, in discovery order. */
export const judgePitfalls = (record: ProbeRecord): readonly Pitfall[] => {
  const { hop, challenge, ignoredResourceMetadata } = record.challenge;
  const asks = hop.status === 401 || hop.status === 403;
  const prm = firstDocument(record.resourceMetadata);
  // A server that lets a client in without a token and publishes no metadata: nothing to judge.
  if (!asks && prm === undefined) return [];
  const out: Pitfall[] = [];

  if (hop.status === 401 && challenge === undefined) {
    out.push({
      id: "no-challenge",
      severity: "warning",
      summary:
        "The 401 carries no Bearer (or DPoP) challenge in WWW-Authenticate: clients learn neither the resource_metadata nor the scope from it, and some do not start an authorization at all.",
      evidence: [evidenceOf(hop, "no Bearer or DPoP challenge")],
      see: see.challenge,
    });
  }
  if (ignoredResourceMetadata !== undefined) {
    out.push({
      id: "unusable-resource-metadata-url",
      severity: "warning",
      summary: `The challenge's resource_metadata cannot be fetched (${ignoredResourceMetadata.reason}): clients ignore it and fall back to the well-known locations.`,
      evidence: [evidenceOf(hop, `resource_metadata: ${shownUrl(ignoredResourceMetadata.value)}`)],
      see: see.resourceMetadataUrl,
    });
  }

  const prmWalk = judgeWalk(
    record.resourceMetadata,
    "protected-resource metadata",
    see.prmResponse,
  );
  out.push(...prmWalk);
  if (prm === undefined && prmWalk.length === 0) {
    const legacyFound =
      record.legacy && record.authorizationServers.some((s) => firstDocument(s.lookups));
    out.push({
      id: "resource-metadata-not-found",
      severity: "error",
      summary: legacyFound
        ? "No protected-resource metadata (RFC 9728) at any location MCP clients try; only clients that keep the 2025-03-26 fallback (authorization server metadata at the server's origin) find the authorization server."
        : "No protected-resource metadata (RFC 9728) at any location MCP clients try: they cannot find the authorization server.",
      evidence: notFound(record.resourceMetadata),
      see: see.resourceDiscovery,
    });
  }

  if (prm !== undefined) {
    const doc = prm.document;
    const at = lastHop(prm.lookup);
    if (!resourceMatches(doc.resource, record.serverUrl, record.canonical, "strict")) {
      const relaxed = resourceMatches(
        doc.resource,
        record.serverUrl,
        record.canonical,
        "same-origin-path-prefix",
      );
      out.push({
        id: "resource-mismatch",
        severity: "error",
        summary: relaxed
          ? `The metadata's resource (${shownUrl(doc.resource)}) is not the server URL (${shownUrl(record.canonical)}) but a parent of it: clients must refuse it; only those with a same-origin relaxation accept it.`
          : `The metadata's resource (${shownUrl(doc.resource)}) is not the server URL (${shownUrl(record.canonical)}): every client must refuse this metadata.`,
        evidence: [evidenceOf(at, `resource: ${shownUrl(doc.resource)}`)],
        see: see.resource,
      });
    }
    if ((doc.authorization_servers ?? []).length === 0) {
      out.push({
        id: "no-authorization-server",
        severity: "error",
        summary:
          "The protected-resource metadata lists no authorization_servers: clients have nowhere to authorize.",
        evidence: [evidenceOf(at, "authorization_servers is absent or empty")],
        see: see.asLocation,
      });
    }
  }

  for (const server of record.authorizationServers) {
    // A 2025-03-26 origin without metadata is already said above.
    if (record.legacy && firstDocument(server.lookups) === undefined) continue;
    out.push(...judgeAuthServer(record, server));
  }
  return out;
};
