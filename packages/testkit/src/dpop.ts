/**
 * The resource server's side of DPoP (RFC 9449 §7, §9): checks the proof that comes with a
 * DPoP-bound access token — the JWT `typ: dpop+jwt` signed by the public `jwk` in its header, the
 * request's method and URL (`htm`, `htu` without query and fragment), a recent `iat`, an unused
 * `jti`, `ath` = base64url(SHA-256(token)), the key's RFC 7638 thumbprint = the token's `cnf.jkt`
 * and, when required, the server's current nonce.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from "jose";
import type { McpDpopOptions } from "./types.js";

export const DEFAULT_DPOP_ALGORITHMS = ["ES256", "Ed25519", "EdDSA", "PS256", "RS256"] as const;

/** How far `iat` may be from now (RFC 9449 §11.1 leaves it to the server; oidc-provider's). */
const IAT_WINDOW_SECONDS = 300;

export type DpopCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** RFC 9449 §7.1 / §12.2 error codes. */
      readonly error: "invalid_dpop_proof" | "invalid_token" | "use_dpop_nonce";
      readonly description: string;
    };

export interface DpopVerifier {
  readonly algorithms: readonly string[];
  readonly requireNonce: boolean;
  /** Only DPoP-bound tokens are accepted. */
  readonly required: boolean;
  /** The nonce proofs must carry (when required). */
  nonce(): string;
  rotateNonce(): void;
  /** Checks the request's DPoP proof for `token`, bound to `jkt`. */
  verify(req: IncomingMessage, requestUrl: string, token: string, jkt: string): Promise<DpopCheck>;
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"] as const;

const fail = (
  error: "invalid_dpop_proof" | "invalid_token" | "use_dpop_nonce",
  description: string,
) => ({ ok: false, error, description }) as const;

/** RFC 9449 §4.3 step 9: `htu` compared without query and fragment. */
function withoutQuery(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    parsed.search = "";
    parsed.hash = "";
    return parsed.href;
  } catch {
    return undefined;
  }
}

export function createDpopVerifier(options: McpDpopOptions = {}): DpopVerifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_DPOP_ALGORITHMS)];
  let currentNonce = randomBytes(16).toString("base64url");
  /** Seen `jti`s and until when they matter (after that, `iat` alone refuses the proof). */
  const seen = new Map<string, number>();

  const remember = (jti: string, now: number): boolean => {
    for (const [id, until] of seen) {
      if (until >= now) break;
      seen.delete(id);
    }
    if (seen.has(jti)) return false;
    seen.set(jti, now + 2 * IAT_WINDOW_SECONDS);
    return true;
  };

  return {
    algorithms,
    requireNonce: options.requireNonce ?? false,
    required: options.required ?? false,
    nonce: () => currentNonce,
    rotateNonce() {
      currentNonce = randomBytes(16).toString("base64url");
    },
    async verify(req, requestUrl, token, jkt) {
      const header = req.headers.dpop;
      // Node joins repeated headers with ", ": a JWT has no comma, so a comma means two proofs.
      if (typeof header !== "string" || header === "" || header.includes(",")) {
        return fail("invalid_dpop_proof", "exactly one DPoP proof is required with a DPoP token");
      }
      let verified: Awaited<ReturnType<typeof jwtVerify>>;
      try {
        verified = await jwtVerify(header, EmbeddedJWK, { typ: "dpop+jwt", algorithms });
      } catch {
        return fail("invalid_dpop_proof", "the DPoP proof does not verify with its jwk");
      }
      const { protectedHeader, payload } = verified;
      const jwk = protectedHeader.jwk as JWK | undefined;
      if (jwk === undefined || PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
        return fail("invalid_dpop_proof", "the proof's jwk must be a public key");
      }
      if (typeof payload.jti !== "string" || payload.jti === "") {
        return fail("invalid_dpop_proof", "the proof has no jti");
      }
      if (payload.htm !== req.method) {
        return fail("invalid_dpop_proof", "the proof's htm is not the request method");
      }
      const htu = typeof payload.htu === "string" ? withoutQuery(payload.htu) : undefined;
      if (htu === undefined || htu !== withoutQuery(requestUrl)) {
        return fail("invalid_dpop_proof", "the proof's htu is not the request URL");
      }
      const now = Math.floor(Date.now() / 1000);
      if (typeof payload.iat !== "number" || Math.abs(now - payload.iat) > IAT_WINDOW_SECONDS) {
        return fail("invalid_dpop_proof", "the proof's iat is not recent");
      }
      const ath = createHash("sha256").update(token).digest("base64url");
      if (payload.ath !== ath) {
        return fail("invalid_dpop_proof", "the proof's ath is not the token's hash");
      }
      if ((await calculateJwkThumbprint(jwk, "sha256")) !== jkt) {
        return fail("invalid_token", "the token is bound to another key (cnf.jkt)");
      }
      // Recorded before the nonce check: a retry after use_dpop_nonce needs a new proof.
      if (!remember(payload.jti, now)) {
        return fail("invalid_dpop_proof", "the proof was used before (jti)");
      }
      if ((options.requireNonce ?? false) && payload.nonce !== currentNonce) {
        return fail("use_dpop_nonce", "the resource server requires a DPoP nonce");
      }
      return { ok: true };
    },
  };
}
