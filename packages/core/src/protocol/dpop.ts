/**
 * DPoP (RFC 9449) decisions and readings that need no key and no I/O: whether token requests to an
 * authorization server carry proofs and with which algorithm (§5.1), what a token response's
 * `token_type` means after a request with or without a proof (§5), and the nonces the
 * authorization server (§8) and the resource server (§9) hand out. The proofs themselves are
 * signed by oauth4webapi, in services/dpop.ts.
 *
 * Pure: no I/O, never throws.
 */
import { findChallenge, parseWwwAuthenticate } from "./www-authenticate.js";

/**
 * Whether this client uses DPoP:
 * - "auto": when the authorization server lists `dpop_signing_alg_values_supported` with an
 *   algorithm this client signs with (RFC 9449 §5.1); a Bearer token is accepted even after a
 *   proof was sent (§5: the server decides whether to bind). For a resource whose metadata says
 *   `dpop_bound_access_tokens_required` (RFC 9728 §2), "auto" is "required";
 * - "off": never a proof (a resource that takes DPoP-bound tokens only is refused before any
 *   token request);
 * - "required": always a proof (ES256 when the server lists nothing), and a Bearer token in answer
 *   is refused.
 */
export type DpopPolicy = "auto" | "off" | "required";

/**
 * The JWS algorithms proofs are signed with, in this client's order of preference: each is one
 * WebCrypto implements on every platform core runs on and oauth4webapi signs with. ES256 first
 * (P-256 ECDSA: small, fast, what every DPoP server accepts in practice); `EdDSA` is the same
 * Ed25519 key as `Ed25519` (RFC 9864), written the way older servers list it.
 */
export const dpopAlgorithms = ["ES256", "Ed25519", "EdDSA", "PS256", "RS256"] as const;
export type DpopAlgorithm = (typeof dpopAlgorithms)[number];

/** The algorithm used when the server lists none (policy "required"). */
export const defaultDpopAlgorithm: DpopAlgorithm = "ES256";

/** The first of this client's algorithms the server lists (case-sensitive, RFC 7515 §4.1.1). */
export const chooseDpopAlgorithm = (
  advertised: readonly string[],
  preference: readonly DpopAlgorithm[] = dpopAlgorithms,
): DpopAlgorithm | undefined => preference.find((alg) => advertised.includes(alg));

/** What DPoP means for the token requests to one authorization server. */
export type DpopDecision =
  | {
      readonly _tag: "Off";
      readonly reason: "policy" | "not advertised" | "no common algorithm";
    }
  | {
      readonly _tag: "On";
      readonly alg: DpopAlgorithm;
      /** Policy "required": a Bearer token in answer is refused. */
      readonly required: boolean;
    }
  /** Policy "required", but the server lists only algorithms this client cannot sign with. */
  | { readonly _tag: "Unsupported"; readonly advertised: readonly string[] }
  /** The resource takes DPoP-bound tokens only, and the policy is "off". */
  | { readonly _tag: "RequiredByResource" };

/**
 * RFC 9449 §5.1: `dpop_signing_alg_values_supported` says the authorization server takes proofs
 * and with which algorithms. Under "auto" its absence (or no common algorithm) means no proof;
 * under "required" its absence means a proof with ES256 anyway, a list without a common algorithm
 * is Unsupported.
 *
 * A resource whose metadata says `dpop_bound_access_tokens_required` (RFC 9728 §2) refuses any
 * other token: for its tokens "auto" is "required" (a proof whether or not the authorization server
 * lists algorithms, and a Bearer token in answer refused), and "off" is RequiredByResource — a
 * token obtained without a proof could never be used there.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5.1
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-2
 */
export const dpopDecision = (
  configured: DpopPolicy,
  advertised: readonly string[] | undefined,
  preference: readonly DpopAlgorithm[] = dpopAlgorithms,
  resourceRequiresBinding = false,
): DpopDecision => {
  if (configured === "off")
    return resourceRequiresBinding
      ? { _tag: "RequiredByResource" }
      : { _tag: "Off", reason: "policy" };
  const policy = resourceRequiresBinding ? "required" : configured;
  if (advertised === undefined) {
    return policy === "required"
      ? { _tag: "On", alg: preference[0] ?? defaultDpopAlgorithm, required: true }
      : { _tag: "Off", reason: "not advertised" };
  }
  const alg = chooseDpopAlgorithm(advertised, preference);
  if (alg !== undefined) return { _tag: "On", alg, required: policy === "required" };
  return policy === "required"
    ? { _tag: "Unsupported", advertised }
    : { _tag: "Off", reason: "no common algorithm" };
};

/**
 * How a token request used DPoP: no proof; a proof, a Bearer token acceptable; a proof, binding
 * required.
 */
export type DpopUse = "none" | "offered" | "required";

/** The token types authchart holds (`TokenSet.tokenType`). */
export type TokenType = "Bearer" | "DPoP";

export type TokenTypeVerdict =
  | { readonly _tag: "Accepted"; readonly tokenType: TokenType }
  | {
      readonly _tag: "Refused";
      readonly reason: "dpop without proof" | "bearer where binding is required" | "unknown";
    };

/**
 * RFC 9449 §5 and OAuth 2.1 §3.2.3: what a token response's `token_type` (case-insensitive, RFC
 * 6749 §5.1) means after a request that used DPoP as `use` says.
 * - `DPoP` is accepted only after a proof: without one the token is bound to no key this client
 *   holds, and could never be presented.
 * - `Bearer` after a proof is a Bearer token (§5: the server decides whether it binds the token to
 *   the proof's key and says so in `token_type`), unless the policy requires binding.
 * - Any other type is refused.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
export const tokenTypeVerdict = (tokenType: string, use: DpopUse): TokenTypeVerdict => {
  switch (tokenType.toLowerCase()) {
    case "bearer":
      return use === "required"
        ? { _tag: "Refused", reason: "bearer where binding is required" }
        : { _tag: "Accepted", tokenType: "Bearer" };
    case "dpop":
      return use === "none"
        ? { _tag: "Refused", reason: "dpop without proof" }
        : { _tag: "Accepted", tokenType: "DPoP" };
    default:
      return { _tag: "Refused", reason: "unknown" };
  }
};

/** Whether a held token set's type is DPoP (compared case-insensitively, RFC 6749 §5.1). */
export const isDpopTokenType = (tokenType: string): boolean => tokenType.toLowerCase() === "dpop";

/** The longest nonce kept: far above what servers send, so none fills memory or a header. */
export const maxDpopNonceLength = 1024;

/**
 * RFC 9449 §8.1: `nonce = 1*NQCHAR`, NQCHAR = %x21 / %x23-5B / %x5D-7E — visible ASCII without
 * `"` and `\`. Anything else (or longer than {@link maxDpopNonceLength}) is not a nonce.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8.1
 */
export const isDpopNonce = (value: unknown): value is string => {
  if (typeof value !== "string" || value.length === 0 || value.length > maxDpopNonceLength) {
    return false;
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
};

/** The nonce of a `DPoP-Nonce` response header (RFC 9449 §8, §9), if it is one. */
export const readDpopNonce = (header: string | null | undefined): string | undefined =>
  isDpopNonce(header) ? header : undefined;

/** The origin nonces are remembered by (RFC 9449 §8: per server), or undefined for a non-URL. */
export const dpopNonceOrigin = (url: string): string | undefined => {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
};

/**
 * RFC 9449 §9: a resource server's demand for a nonce — a 401 whose `DPoP` challenge says
 * `error="use_dpop_nonce"`, with the nonce in `DPoP-Nonce`. The nonce to retry with (once, with a
 * fresh proof), or undefined when the answer is not such a demand or carries no usable nonce (an
 * ordinary 401 then). The `DPoP` challenge is found among any others (`Bearer …, DPoP …`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9
 */
export const readResourceNonceChallenge = (response: {
  readonly status: number;
  readonly wwwAuthenticate: string | readonly string[] | null | undefined;
  readonly dpopNonce: string | null | undefined;
}): string | undefined => {
  if (response.status !== 401) return undefined;
  const challenge = findChallenge(parseWwwAuthenticate(response.wwwAuthenticate), "DPoP");
  if (challenge?.params.error !== "use_dpop_nonce") return undefined;
  return readDpopNonce(response.dpopNonce);
};

/** The `use_dpop_nonce` error code (RFC 9449 §8, §9, §12.2). */
export const USE_DPOP_NONCE = "use_dpop_nonce";
