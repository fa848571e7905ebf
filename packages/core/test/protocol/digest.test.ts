/**
 * The hashes computed at once through node:crypto are the ones WebCrypto (and oauth4webapi's
 * PKCE) compute: RFC 7636 Appendix B's example, and any input.
 */
import fc from "fast-check";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { s256CodeChallenge, sha256Hex, webSha256Hex } from "../../src/protocol/digest.js";

describe("digest", () => {
  it("RFC 7636 Appendix B: the S256 challenge of the example verifier, at once in Node", () => {
    const challenge = s256CodeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    expect(typeof challenge).toBe("string");
    expect(challenge).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("any verifier: the challenge oauth4webapi computes with WebCrypto", async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9._~-]{43,128}$/), async (verifier) => {
        expect(s256CodeChallenge(verifier)).toBe(await oauth.calculatePKCECodeChallenge(verifier));
      }),
    );
  });

  it("any text: the hex digest WebCrypto computes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 200 }), async (text) => {
        expect(sha256Hex(text)).toBe(await webSha256Hex(text));
      }),
    );
  });
});
