/**
 * Quirk profiles as data: what a real authorization server needs beyond OAuth 2.1 and MCP, written
 * as a typed table of adjustments, each with the reason it exists. A profile only changes what the
 * client sends (a parameter, the scope string, the client authentication), what it accepts as a
 * token response's encoding, and how it explains a missing registration. Nothing here can reach
 * PKCE, `state`, `iss`, the issuer comparison or the resource checks on metadata: the type has no
 * field for them, and the functions in apply.ts never touch those parameters.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization
 */
import type { TokenEndpointAuthMethod } from "../schema/credentials.js";

/** Every adjustment says why it exists, in words the trace repeats. */
export interface Why {
  readonly why: string;
}

/** What a profile changes. Absent: that part of the request is left as OAuth 2.1 and MCP say. */
export interface QuirkAdjustments {
  /**
   * Leave out `resource` (RFC 8707 §2) on the authorization and token requests: the server refuses
   * it. The resource checks on metadata (RFC 9728 §3.3) still run.
   */
  readonly omitResource?: Why | undefined;
  /**
   * Send `audience` on the requests that name the API a token is for (the authorization request,
   * the device authorization request, the client credentials and JWT bearer token requests): the
   * server ignores `resource` and names the API by this parameter. Never on a token exchange, whose
   * `audience` is the authorization server the grant is for (RFC 8693 §2.1). `value` default: the
   * resource (the MCP server's canonical URI).
   */
  readonly audience?: (Why & { readonly value?: string | undefined }) | undefined;
  /**
   * Qualify each bare scope as `{api}/{scope}`, and ask for `{api}/{whenEmpty}` when no API scope
   * is left (Entra ID's `.default`). `api` default: the resource. `clientCredentials`: the one
   * scope a client credentials request asks for, `{api}/{clientCredentials}` in place of all the
   * others (Entra ID's `.default`: an application's permissions are granted ahead of time, not per
   * request).
   */
  readonly qualifyScopes?:
    | (Why & {
        readonly api?: string | undefined;
        readonly whenEmpty?: string | undefined;
        readonly clientCredentials?: string | undefined;
      })
    | undefined;
  /** Never send `offline_access` as the only scope. */
  readonly offlineAccessOnlyWithOther?: Why | undefined;
  /** A refresh request carries the granted scope (adjusted like the authorization request's). */
  readonly scopeOnRefresh?: Why | undefined;
  /** Scopes never sent to this server, whoever asked for them. */
  readonly neverSendScopes?: (Why & { readonly scopes: readonly string[] }) | undefined;
  /** The scope list is joined with this character instead of a space (RFC 6749 §3.3). */
  readonly scopeDelimiter?: (Why & { readonly delimiter: string }) | undefined;
  /**
   * More authorization request parameters. A parameter that carries a security check or a core
   * value (state, PKCE, client_id, redirect_uri, response_type, scope, resource, ...) is never
   * set this way (apply.ts `reservedAuthorizationParams`).
   */
  readonly authorizationParams?:
    | (Why & { readonly params: Readonly<Record<string, string>> })
    | undefined;
  /** A 200 token response in application/x-www-form-urlencoded is read too. */
  readonly formEncodedTokenResponse?: Why | undefined;
  /** The client authentication to use when the client's configuration names none (OAuth 2.1 §2.4). */
  readonly clientAuthentication?: (Why & { readonly method: TokenEndpointAuthMethod }) | undefined;
  /**
   * No dynamic registration here, even when the metadata names a registration endpoint: a client
   * must be registered in the server's console first.
   */
  readonly preRegistration?: (Why & { readonly consoleUrl: string }) | undefined;
  /** The redirect URI must be the exact one registered: no ephemeral loopback port (RFC 8252 §7.3). */
  readonly fixedRedirectUri?: Why | undefined;
  /** The User-Agent sent to this authorization server (RFC 9110 §10.1.5). */
  readonly userAgent?: (Why & { readonly value: string }) | undefined;
}

export type QuirkName = keyof QuirkAdjustments;

/** One server's quirks: matched by issuer, each adjustment explained, its sources cited. */
export interface QuirkProfile {
  /** A stable id, used in client settings and the trace (e.g. "entra-id-v2"). */
  readonly id: string;
  /** For people: "Microsoft Entra ID (v2.0 endpoints)". */
  readonly name: string;
  /**
   * Issuer identifiers this profile is for: exact, or with `{placeholders}` that stand for one
   * label or path segment of letters, digits, `-` and `_` (e.g.
   * `https://login.microsoftonline.com/{tenant}/v2.0`). Empty: only by client settings.
   */
  readonly issuers: readonly string[];
  /** The public documentation or reports the adjustments follow. */
  readonly sources: readonly string[];
  readonly adjustments: QuirkAdjustments;
}

/** Per authorization server, in the client settings. */
export interface QuirkServerSettings {
  /** The issuer, exactly as its metadata names it. */
  readonly issuer: string;
  /**
   * The profile for this server, by id (a built-in one or one of `profiles`), whatever its issuer
   * patterns say; "none" turns profiles off for this server. Default: matched by issuer.
   */
  readonly profile?: string | undefined;
  /** Adjustments added to, or replacing, the profile's (a profile of its own when there is none). */
  readonly adjustments?: QuirkAdjustments | undefined;
}

export interface QuirkSettings {
  /** Profiles of the application's own, matched before the built-in ones. */
  readonly profiles?: readonly QuirkProfile[] | undefined;
  /** Per-server choices and overrides. */
  readonly servers?: readonly QuirkServerSettings[] | undefined;
  /** Match the built-in profiles by issuer. Default true. */
  readonly builtIn?: boolean | undefined;
}

/** The profile that applies at one issuer, with how it was chosen. */
export interface ResolvedQuirks {
  readonly profile: string;
  readonly name: string;
  readonly matchedBy: "issuer" | "client settings";
  readonly adjustments: QuirkAdjustments;
}

/** One adjustment a request was given: the trace names the profile, what changed and why. */
export interface AppliedAdjustment {
  readonly profile: string;
  readonly adjustment: QuirkName;
  /** What changed in this request, without any secret (parameter names, scopes, a method). */
  readonly change: string;
  readonly why: string;
}
