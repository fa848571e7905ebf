/**
 * SHA-256 for the PKCE S256 code challenge (RFC 7636 §4.2) and for lock names. In Node the hash is
 * computed at once through node:crypto, reached with `process.getBuiltinModule` so that this
 * package imports nothing Node-only; elsewhere WebCrypto's `subtle.digest` — which in Node is a
 * round trip to the thread pool per hash (a pause in every authorization and every lock taken).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 */
import * as oauth from "oauth4webapi";

interface NodeHash {
  update(data: string): NodeHash;
  digest(encoding: "hex" | "base64url"): string;
}
interface NodeCrypto {
  createHash(algorithm: "sha256"): NodeHash;
}

const nodeCrypto = ((): NodeCrypto | undefined => {
  try {
    const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
      .process;
    const module = process?.getBuiltinModule?.("node:crypto") as Partial<NodeCrypto> | undefined;
    return typeof module?.createHash === "function" ? (module as NodeCrypto) : undefined;
  } catch {
    return undefined;
  }
})();

/** Lowercase hex of SHA-256 over the UTF-8 text. */
export const sha256Hex = (text: string): string | Promise<string> =>
  nodeCrypto !== undefined
    ? nodeCrypto.createHash("sha256").update(text).digest("hex")
    : webSha256Hex(text);

export const webSha256Hex = async (text: string): Promise<string> => {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
};

/**
 * `BASE64URL(SHA256(ASCII(code_verifier)))`. A verifier is ASCII by construction (RFC 7636 §4.1),
 * so its UTF-8 bytes are its ASCII bytes.
 */
export const s256CodeChallenge = (codeVerifier: string): string | Promise<string> =>
  nodeCrypto !== undefined
    ? nodeCrypto.createHash("sha256").update(codeVerifier).digest("base64url")
    : oauth.calculatePKCECodeChallenge(codeVerifier);
