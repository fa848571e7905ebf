/**
 * Applying a profile to one request: pure functions from what the lifecycle would send to what the
 * server gets, each change listed as an AppliedAdjustment for the trace. Only `resource`,
 * `audience`, `scope` and extra authorization parameters are ever touched; the parameters that
 * carry a security check are not theirs to change (`reservedAuthorizationParams`).
 */
import { formatScope } from "../protocol/scopes.js";
import type { TokenEndpointAuthMethod } from "../schema/credentials.js";
import type { AppliedAdjustment, QuirkName, ResolvedQuirks } from "./profile.js";

/**
 * Authorization request parameters no profile sets: the PKCE pair (RFC 7636 §4.3), `state`
 * (RFC 9700 §4.7), the client and redirect URI (OAuth 2.1 §4.1.1), the response type and mode,
 * `iss` (RFC 9207), the nonce, and the parameters the adjustments themselves own.
 */
export const reservedAuthorizationParams: ReadonlySet<string> = new Set([
  "response_type",
  "response_mode",
  "client_id",
  "redirect_uri",
  "code_challenge",
  "code_challenge_method",
  "state",
  "nonce",
  "iss",
  "scope",
  "resource",
  "audience",
  "request",
  "request_uri",
]);

/** OpenID Connect scopes (OIDC Core §5.4, §11): never qualified with an API. */
const oidcScopes: ReadonlySet<string> = new Set(["openid", "profile", "email", "offline_access"]);

/**
 * The requests that name the API and scopes a token is for, each of which a profile adjusts the
 * same way: the authorization request (OAuth 2.1 §4.1.1), the device authorization request
 * (RFC 8628 §3.1), and the token requests of the grants without one — client credentials
 * (RFC 6749 §4.4.2), JWT bearer (RFC 7523 §2.1) and the token exchange for an ID-JAG (RFC 8693
 * §2.1).
 */
export type ApiRequest =
  | "authorization"
  | "device_authorization"
  | "client_credentials"
  | "jwt_bearer"
  | "token_exchange";

export interface RequestParts {
  /** The canonical resource (RFC 8707 §2). */
  readonly resource: string;
  /** The scopes the lifecycle asks for; empty: no scope parameter. */
  readonly scopes: readonly string[];
}

/** What a request carries after the profile: undefined means the parameter is not sent. */
export interface AdjustedRequest {
  readonly resource: string | undefined;
  readonly audience: string | undefined;
  readonly scope: string | undefined;
  /** Extra authorization request parameters (never a reserved one). */
  readonly extra: Readonly<Record<string, string>>;
  readonly adjustments: readonly AppliedAdjustment[];
}

const applied = (
  quirks: ResolvedQuirks,
  adjustment: QuirkName,
  change: string,
): AppliedAdjustment => ({
  profile: quirks.profile,
  adjustment,
  change,
  why: quirks.adjustments[adjustment]?.why ?? "",
});

const list = (scopes: readonly string[]) => (scopes.length === 0 ? "(none)" : scopes.join(" "));

/**
 * The scope list after the profile's scope adjustments, with what each one changed. A client
 * credentials request asks for the profile's one scope for such requests when it names one.
 */
export const adjustScopes = (
  quirks: ResolvedQuirks | undefined,
  parts: RequestParts,
  request: ApiRequest = "authorization",
): { readonly scopes: readonly string[]; readonly adjustments: readonly AppliedAdjustment[] } => {
  if (quirks === undefined) return { scopes: parts.scopes, adjustments: [] };
  const q = quirks.adjustments;
  const adjustments: AppliedAdjustment[] = [];
  let scopes = [...parts.scopes];
  if (q.neverSendScopes !== undefined) {
    const never = new Set(q.neverSendScopes.scopes);
    const dropped = scopes.filter((s) => never.has(s));
    if (dropped.length > 0) {
      scopes = scopes.filter((s) => !never.has(s));
      adjustments.push(applied(quirks, "neverSendScopes", `not sent: ${list(dropped)}`));
    }
  }
  if (q.qualifyScopes !== undefined) {
    const api = q.qualifyScopes.api ?? parts.resource;
    const before = scopes;
    scopes = scopes.map((s) => (oidcScopes.has(s) || isQualified(s) ? s : `${api}/${s}`));
    const whenEmpty = q.qualifyScopes.whenEmpty;
    const appOnly = q.qualifyScopes.clientCredentials;
    if (request === "client_credentials" && appOnly !== undefined) scopes = [`${api}/${appOnly}`];
    else if (whenEmpty !== undefined && scopes.every((s) => oidcScopes.has(s)))
      scopes = [`${api}/${whenEmpty}`, ...scopes];
    if (scopes.join(" ") !== before.join(" "))
      adjustments.push(applied(quirks, "qualifyScopes", `${list(before)} → ${list(scopes)}`));
  }
  if (
    q.offlineAccessOnlyWithOther !== undefined &&
    scopes.length > 0 &&
    scopes.every((s) => s === "offline_access")
  ) {
    scopes = [];
    adjustments.push(
      applied(quirks, "offlineAccessOnlyWithOther", "offline_access alone is not sent"),
    );
  }
  return { scopes, adjustments };
};

/**
 * A scope that already names its API — an absolute URI with an authority (`api://…/x`,
 * `https://…/x`) or a URN — which qualifying leaves as it is. `mcp:read` is a bare scope.
 */
const isQualified = (scope: string) =>
  /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(scope) || scope.startsWith("urn:");

/**
 * The scope parameter's value, each scope once (formatScope): the profile's delimiter, else a
 * space (RFC 6749 §3.3).
 */
const formatWith = (
  quirks: ResolvedQuirks | undefined,
  requested: readonly string[],
  adjustments: AppliedAdjustment[],
): string | undefined => {
  const scopes = formatScope(requested)?.split(" ") ?? [];
  if (scopes.length === 0) return undefined;
  const delimiter = quirks?.adjustments.scopeDelimiter;
  if (delimiter === undefined || scopes.length === 1) return scopes.join(" ");
  adjustments.push(
    applied(
      quirks as ResolvedQuirks,
      "scopeDelimiter",
      `scopes joined with "${delimiter.delimiter}"`,
    ),
  );
  return scopes.join(delimiter.delimiter);
};

/** `resource` as sent: the canonical resource, unless the profile leaves it out. */
const resourceFor = (
  quirks: ResolvedQuirks | undefined,
  resource: string,
  adjustments: AppliedAdjustment[],
): string | undefined => {
  if (quirks?.adjustments.omitResource === undefined) return resource;
  adjustments.push(applied(quirks, "omitResource", "resource parameter left out"));
  return undefined;
};

/**
 * A request's adjustable parameters that name the API and the scopes (see ApiRequest): resource,
 * scope, and `audience` — except on a token exchange, whose `audience` is the authorization server
 * the ID-JAG is for (RFC 8693 §2.1), a value no profile replaces.
 */
export const adjustApiRequest = (
  quirks: ResolvedQuirks | undefined,
  parts: RequestParts,
  request: ApiRequest,
): Omit<AdjustedRequest, "extra"> => {
  const scoped = adjustScopes(quirks, parts, request);
  const adjustments = [...scoped.adjustments];
  const resource = resourceFor(quirks, parts.resource, adjustments);
  const scope = formatWith(quirks, scoped.scopes, adjustments);
  const audienceQuirk = request === "token_exchange" ? undefined : quirks?.adjustments.audience;
  const audience =
    audienceQuirk === undefined ? undefined : (audienceQuirk.value ?? parts.resource);
  if (quirks !== undefined && audience !== undefined)
    adjustments.push(applied(quirks, "audience", `audience=${audience}`));
  return { resource, audience, scope, adjustments };
};

/**
 * The authorization request's adjustable parameters (OAuth 2.1 §4.1.1): those of adjustApiRequest,
 * and the profile's extra parameters minus the reserved ones.
 */
export const adjustAuthorizationRequest = (
  quirks: ResolvedQuirks | undefined,
  parts: RequestParts,
): AdjustedRequest => {
  const { resource, audience, scope, ...rest } = adjustApiRequest(quirks, parts, "authorization");
  const adjustments = [...rest.adjustments];
  const extra: Record<string, string> = {};
  const params = quirks?.adjustments.authorizationParams?.params ?? {};
  for (const [name, value] of Object.entries(params))
    if (!reservedAuthorizationParams.has(name)) extra[name] = value;
  if (quirks !== undefined && Object.keys(extra).length > 0)
    adjustments.push(
      applied(
        quirks,
        "authorizationParams",
        Object.entries(extra)
          .map(([n, v]) => `${n}=${v}`)
          .join(" "),
      ),
    );
  return { resource, audience, scope, extra, adjustments };
};

/**
 * A token request's adjustable parameters (OAuth 2.1 §3.2, §4.3.1): resource, and for a refresh
 * the scope — the narrowing asked for, else the granted scope when the profile wants a scope on
 * every refresh. The code exchange (OAuth 2.1 §4.1.3) and the device code's token request (RFC
 * 8628 §3.4) carry no scope: the request that started the grant named it.
 */
export const adjustTokenRequest = (
  quirks: ResolvedQuirks | undefined,
  parts: {
    readonly grantType: "authorization_code" | "device_code" | "refresh_token";
    readonly resource: string;
    /** A refresh's narrowing (OAuth 2.1 §4.3.1), when there is one. */
    readonly scopes?: readonly string[] | undefined;
    /** The granted scope of the token set being refreshed. */
    readonly granted?: readonly string[] | undefined;
  },
): Omit<AdjustedRequest, "audience" | "extra"> => {
  const adjustments: AppliedAdjustment[] = [];
  const resource = resourceFor(quirks, parts.resource, adjustments);
  if (parts.grantType !== "refresh_token") return { resource, scope: undefined, adjustments };
  let scopes = parts.scopes;
  if (scopes === undefined && quirks?.adjustments.scopeOnRefresh !== undefined) {
    scopes = parts.granted ?? [];
    adjustments.push(
      applied(quirks, "scopeOnRefresh", `the refresh carries the granted scope ${list(scopes)}`),
    );
  }
  if (scopes === undefined) return { resource, scope: undefined, adjustments };
  const scoped = adjustScopes(quirks, { resource: parts.resource, scopes });
  adjustments.push(...scoped.adjustments);
  return { resource, scope: formatWith(quirks, scoped.scopes, adjustments), adjustments };
};

/**
 * A granted scope as the lifecycle knows it: `{api}/x` back to `x` for a profile that qualifies
 * scopes, so the loop guard and the step-up compare the scopes it asked for (OAuth 2.1 §3.2.3).
 */
export const unqualifyGranted = (
  quirks: ResolvedQuirks | undefined,
  resource: string,
  granted: readonly string[],
): readonly string[] => {
  const qualify = quirks?.adjustments.qualifyScopes;
  if (qualify === undefined) return granted;
  const prefix = `${qualify.api ?? resource}/`;
  const added = new Set(
    [qualify.whenEmpty, qualify.clientCredentials].flatMap((s) =>
      s === undefined ? [] : [`${prefix}${s}`],
    ),
  );
  return granted
    .filter((s) => !added.has(s))
    .map((s) => (s.startsWith(prefix) ? s.slice(prefix.length) : s));
};

/** The client authentication a profile asks for, with its adjustment, when it names one. */
export const preferredAuthMethod = (
  quirks: ResolvedQuirks | undefined,
):
  | { readonly method: TokenEndpointAuthMethod; readonly adjustment: AppliedAdjustment }
  | undefined => {
  const wanted = quirks?.adjustments.clientAuthentication;
  if (quirks === undefined || wanted === undefined) return undefined;
  return {
    method: wanted.method,
    adjustment: applied(quirks, "clientAuthentication", `client authentication ${wanted.method}`),
  };
};

/** Whether a form-encoded 200 token response is read (and the adjustment that says so). */
export const formResponseAdjustment = (
  quirks: ResolvedQuirks | undefined,
): AppliedAdjustment | undefined =>
  quirks?.adjustments.formEncodedTokenResponse === undefined
    ? undefined
    : applied(quirks, "formEncodedTokenResponse", "a form-encoded token response was read");

/** The User-Agent for requests to this server, and its adjustment, when the profile sets one. */
export const userAgentAdjustment = (
  quirks: ResolvedQuirks | undefined,
): { readonly value: string; readonly adjustment: AppliedAdjustment } | undefined => {
  const wanted = quirks?.adjustments.userAgent;
  if (quirks === undefined || wanted === undefined) return undefined;
  return {
    value: wanted.value,
    adjustment: applied(quirks, "userAgent", `User-Agent: ${wanted.value}`),
  };
};
