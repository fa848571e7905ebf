/**
 * What of an HTTP exchange may be written down: header values with every credential replaced by
 * `<redacted>`, URLs without their query values, and the lifecycle phase a request belongs to.
 * Pure functions, no I/O.
 */
import { shownUrl } from "../check/record.js";
import type { Phase } from "./lines.js";

export const REDACTED = "<redacted>";

/**
 * Headers that carry a credential by definition: Authorization and its proxy twin (RFC 9110
 * §11.6.2, §11.7.2), a DPoP proof (RFC 9449 §4.1: a signed key-bound credential), cookies
 * (RFC 6265 §4.1, §5.4), and the usual API-key headers.
 */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "dpop",
  "cookie",
  "set-cookie",
  "authentication-info",
  "proxy-authentication-info",
  "x-api-key",
  "api-key",
]);

/**
 * Names that say a value is a credential (`x-amz-security-token`, `x-auth-token`, `x-client-secret`,
 * `mcp-session-id`: a Streamable HTTP session id is a bearer of the session, MCP "Session
 * Management"). `www-authenticate` is a challenge, not a credential (RFC 6750 §3): kept, it is
 * what a reader of the report needs.
 */
const CREDENTIAL_NAME = /token|secret|passw|session|api[-_]?key|credential|cookie|^x-auth/i;

/** A JWT or JWS in compact form (RFC 7515 §7.1): three base64url parts, the first a JSON header. */
const COMPACT_JWS = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;

/** Schemes whose parameter is the credential (RFC 9110 §11.4): the scheme stays, the rest goes. */
const AUTH_SCHEME = /^\s*([A-Za-z][\w.+-]*)\s+\S/;

/** A header's value as it may be recorded. */
export const redactHeader = (name: string, value: string): string => {
  const lower = name.toLowerCase();
  if (lower === "authorization" || lower === "proxy-authorization") {
    const scheme = AUTH_SCHEME.exec(value)?.[1];
    return scheme === undefined ? REDACTED : `${scheme} ${REDACTED}`;
  }
  if (CREDENTIAL_HEADERS.has(lower) || CREDENTIAL_NAME.test(lower)) return REDACTED;
  if (lower === "location" || lower === "content-location") return shownUrl(value);
  return value.replace(COMPACT_JWS, REDACTED);
};

/** Every header of a request or an answer, names lower-cased, values redacted. */
export const redactHeaders = (headers: Headers): Record<string, string> => {
  const out: Record<string, string> = Object.create(null);
  headers.forEach((value, name) => {
    out[name] = redactHeader(name, value);
  });
  return out;
};

/** A URL as it may be recorded: query values as `…`, no fragment, no userinfo. */
export const recordedUrl = (url: string): string => shownUrl(url);

/** The endpoints a session learned, by what they are for. */
export interface KnownEndpoints {
  /** The protected resource: the MCP server URL and the metadata's `resource`. */
  readonly resources: ReadonlySet<string>;
  readonly registration: ReadonlySet<string>;
  readonly authorization: ReadonlySet<string>;
  readonly token: ReadonlySet<string>;
  readonly revocation: ReadonlySet<string>;
}

/** Scheme, host and path: what identifies an endpoint (queries never do). */
export const endpointKey = (url: string): string | undefined => {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return undefined;
  }
};

/**
 * The phase of a request: discovery for well-known metadata (RFC 8615: RFC 9728 §3, RFC 8414 §3,
 * OpenID Connect Discovery §4), else by the endpoint the authorization server's metadata names
 * for it (RFC 8414 §2), else the protected resource.
 */
export const phaseOf = (url: string, known: KnownEndpoints): Phase => {
  const key = endpointKey(url);
  if (key === undefined) return "other";
  if (new URL(key).pathname.includes("/.well-known/")) return "discovery";
  if (known.token.has(key)) return "token";
  if (known.registration.has(key)) return "registration";
  if (known.authorization.has(key)) return "authorization";
  if (known.revocation.has(key)) return "revocation";
  if (known.resources.has(key)) return "resource";
  return "other";
};
