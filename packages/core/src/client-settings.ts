/**
 * What an application tells authchart about itself as an OAuth client. One object, used by
 * registration (SPEC R1-R12), the authorization request (A4, A10) and client authentication (T2).
 */
import type { Redacted } from "effect";
import type { TokenEndpointAuthMethod } from "./schema/credentials.js";

/** A key for private_key_jwt client authentication (RFC 7523 §2.2; SPEC T2, R6). */
export interface ClientSigningKey {
  readonly key: CryptoKey;
  readonly kid?: string | undefined;
}

/** Static credentials for one authorization server (SPEC R2). */
export interface PreRegisteredClient {
  /**
   * The issuer these credentials belong to. Undefined: the first authorization server they are
   * used with, and no other after that (SPEC R11 Δ: no cross-AS reuse of a client or its secret).
   */
  readonly issuer?: string | undefined;
  readonly clientId: string;
  readonly clientSecret?: Redacted.Redacted<string> | undefined;
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  readonly signingKey?: ClientSigningKey | undefined;
}

export interface ClientSettings {
  /** Shown on consent screens (RFC 7591 client_name; CIMD-00 §4.1). */
  readonly clientName: string;
  /** Exact redirect URIs, registered as is (SPEC R7, R10, A10). The first one is used. */
  readonly redirectUris: readonly [string, ...string[]];
  /** RFC 7591 / OIDC application_type (SPEC R12). Default: "native" when every redirect URI is loopback. */
  readonly applicationType?: "native" | "web" | undefined;
  /** SPEC R1 step 1, R2. */
  readonly preRegistered?: readonly PreRegisteredClient[] | undefined;
  /** SPEC R1 step 2, R3-R7: an https URL that serves this client's metadata document. */
  readonly clientMetadataUrl?: string | undefined;
  /** For dynamic registration (SPEC R8). Default "none": a public client with PKCE. */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  /** Key for private_key_jwt with a dynamically registered or CIMD client. */
  readonly signingKey?: ClientSigningKey | undefined;
  /** Scopes the application always asks for (SPEC S1; the "configured scopes"). */
  readonly scopes?: readonly string[] | undefined;
  /** Add offline_access when the authorization server lists it (SPEC T10). Default true. */
  readonly offlineAccess?: boolean | undefined;
}

export const findPreRegistered = (
  settings: ClientSettings,
  issuer: string,
): PreRegisteredClient | undefined =>
  settings.preRegistered?.find((c) => c.issuer === issuer) ??
  settings.preRegistered?.find((c) => c.issuer === undefined);
