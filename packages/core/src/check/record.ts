/**
 * What a probe of an MCP server fetched, as data: the unauthenticated request and its challenge,
 * every protected-resource metadata location (RFC 9728 §3.1, §5.1) and every authorization-server
 * metadata location (RFC 8414 §3.1; OpenID Connect Discovery 1.0 §4) with each hop, status and
 * redirect. `probeServer` (discover.ts) fills it; `collectAdvertised` and `judgePitfalls` read it
 * without touching the network, so every check is tested from a record built by hand.
 *
 * Raw values are kept here (comparisons need them); whatever leaves for display goes through
 * `shownUrl`, which hides query values.
 */
import type { MetadataCandidate } from "../protocol/metadata-urls.js";
import type { ResourceChallenge } from "../protocol/www-authenticate.js";
import type { AuthorizationServerMetadata, ProtectedResourceMetadata } from "../schema/wire.js";

/** One request of a probe and what came back. */
export interface Hop {
  readonly method: "GET" | "POST";
  readonly url: string;
  /** Absent when no answer arrived (refused, timed out, connection failed). */
  readonly status?: number | undefined;
  readonly contentType?: string | undefined;
  /** A 3xx answer's target (origin and path: http.ts drops its query). */
  readonly location?: string | undefined;
  /** Why no usable answer arrived: the typed error's tag and its secret-free message. */
  readonly failure?: { readonly tag: string; readonly message: string } | undefined;
}

/** How one metadata location ended. */
export type Outcome<D> =
  /** 200 with a valid document; `problem` names a defect a strict client stops on (content type). */
  | { readonly _tag: "Document"; readonly document: D; readonly problem?: string | undefined }
  /** A 4xx: "not here", the client tries the next location. */
  | { readonly _tag: "Absent"; readonly status: number }
  /** 200, but not a usable document (not JSON, not an object, members missing or invalid). */
  | { readonly _tag: "Invalid"; readonly problem: string; readonly issues: readonly string[] }
  /** No answer, a refused URL, a status other than 200 and 4xx, a redirect that leads nowhere. */
  | { readonly _tag: "Failed"; readonly problem: string };

/** One metadata location, the hops it took (more than one: redirects were followed) and the end. */
export interface Lookup<D, S extends string> {
  readonly url: string;
  readonly source: S;
  readonly hops: readonly Hop[];
  readonly outcome: Outcome<D>;
}

export type PrmLookup = Lookup<ProtectedResourceMetadata, MetadataCandidate["source"]>;
export type AsLookup = Lookup<
  AuthorizationServerMetadata,
  "oauth-authorization-server" | "openid-configuration"
>;

/** The MCP server's answer to a request without a token (MCP "Authorization Flow Steps"). */
export interface ChallengeRecord {
  readonly hop: Hop;
  /** The Bearer (or DPoP) challenge of a 401/403, if any (RFC 6750 §3, RFC 9728 §5.1). */
  readonly challenge?: ResourceChallenge | undefined;
  /** The challenge's resource_metadata when it cannot be fetched, and why. */
  readonly ignoredResourceMetadata?:
    | { readonly value: string; readonly reason: string }
    | undefined;
}

/** One authorization server a client could use, and every metadata location tried for it. */
export interface AuthServerRecord {
  readonly issuer: string;
  /** The client refuses to contact it (https only; no private address from a remote server). */
  readonly refused?: string | undefined;
  readonly lookups: readonly AsLookup[];
}

export interface ProbeRecord {
  /** The URL as given, and its canonical form (RFC 8707 §2; MCP "Canonical Server URI"). */
  readonly serverUrl: string;
  readonly canonical: string;
  readonly challenge: ChallengeRecord;
  readonly resourceMetadata: readonly PrmLookup[];
  /**
   * No protected-resource metadata was found, so the server's origin was probed as its own
   * authorization server, as a 2025-03-26 client would (MCP 2025-03-26 "Authorization Base URL").
   */
  readonly legacy: boolean;
  readonly authorizationServers: readonly AuthServerRecord[];
  /** Whether plain http to loopback and private addresses were allowed (the MCP server is local). */
  readonly policy: {
    readonly allowInsecureLoopback: boolean;
    readonly allowPrivateNetwork: boolean;
  };
}

/** A redirect was followed to reach this outcome. */
export const wasRedirected = (lookup: Lookup<unknown, string>): boolean =>
  lookup.hops.length > 1 || lookup.hops[0]?.location !== undefined;

/**
 * Where a client that walks the locations in MCP's order stops: the first document served
 * directly, or the first location that stops a client which follows no redirect (RFC 9700 §4.11)
 * and treats only 4xx as "try the next" — or nothing when every location was absent.
 */
export type ClientWalk<D, S extends string> =
  | { readonly _tag: "Found"; readonly lookup: Lookup<D, S>; readonly document: D }
  | { readonly _tag: "Stopped"; readonly lookup: Lookup<D, S> }
  | { readonly _tag: "NothingFound" };

export const walkAsClient = <D, S extends string>(
  lookups: readonly Lookup<D, S>[],
): ClientWalk<D, S> => {
  for (const lookup of lookups) {
    if (lookup.outcome._tag === "Absent" && !wasRedirected(lookup)) continue;
    if (
      lookup.outcome._tag === "Document" &&
      !wasRedirected(lookup) &&
      lookup.outcome.problem === undefined
    )
      return { _tag: "Found", lookup, document: lookup.outcome.document };
    return { _tag: "Stopped", lookup };
  }
  return { _tag: "NothingFound" };
};

/** The first document any location served, redirects followed: what the server means to say. */
export const firstDocument = <D, S extends string>(
  lookups: readonly Lookup<D, S>[],
): { readonly lookup: Lookup<D, S>; readonly document: D } | undefined => {
  for (const lookup of lookups) {
    if (lookup.outcome._tag === "Document") return { lookup, document: lookup.outcome.document };
  }
  return undefined;
};

/**
 * A URL for a report: its query values replaced by `…` (a server URL may carry a key in its
 * query; the names stay, they say what the query is), fragment and userinfo dropped. Text that
 * is not a URL is cut to 200 characters.
 */
export const shownUrl = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value.length > 200 ? `${value.slice(0, 200)}…` : value;
  }
  // As written when there is nothing to hide: an issuer is compared character by character.
  if (url.search === "" && url.hash === "" && url.username === "" && url.password === "")
    return value;
  const names = [...url.searchParams.keys()];
  const query =
    names.length === 0 ? "" : `?${names.map((n) => `${encodeURIComponent(n)}=…`).join("&")}`;
  return `${url.protocol}//${url.host}${url.pathname}${query}`;
};
