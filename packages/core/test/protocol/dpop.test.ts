/** DPoP decisions and readings (RFC 9449 §5, §5.1, §8, §9): pure. */
import { describe, expect, it } from "vitest";
import {
  chooseDpopAlgorithm,
  dpopDecision,
  isDpopNonce,
  readDpopNonce,
  readResourceNonceChallenge,
  tokenTypeVerdict,
} from "../../src/protocol/dpop.js";

describe("RFC 9449 §5.1: when token requests carry proofs", () => {
  it("auto: only when the server lists an algorithm this client signs with", () => {
    expect(dpopDecision("auto", undefined)).toEqual({ _tag: "Off", reason: "not advertised" });
    expect(dpopDecision("auto", ["ES256"])).toEqual({ _tag: "On", alg: "ES256", required: false });
    expect(dpopDecision("auto", ["HS256", "ES512"])).toEqual({
      _tag: "Off",
      reason: "no common algorithm",
    });
    expect(dpopDecision("auto", [])).toEqual({ _tag: "Off", reason: "no common algorithm" });
  });

  it("off: never, whatever the server lists", () => {
    expect(dpopDecision("off", ["ES256"])).toEqual({ _tag: "Off", reason: "policy" });
  });

  it("required: ES256 when nothing is listed, Unsupported when nothing common is", () => {
    expect(dpopDecision("required", undefined)).toEqual({
      _tag: "On",
      alg: "ES256",
      required: true,
    });
    expect(dpopDecision("required", ["PS256"])).toEqual({
      _tag: "On",
      alg: "PS256",
      required: true,
    });
    expect(dpopDecision("required", ["HS256"])).toEqual({
      _tag: "Unsupported",
      advertised: ["HS256"],
    });
  });

  it("a resource that takes DPoP-bound tokens only (RFC 9728 §2): auto proves as required does, off refuses", () => {
    const forResource = (policy: "auto" | "off" | "required", advertised?: readonly string[]) =>
      dpopDecision(policy, advertised, undefined, true);
    expect(forResource("auto", undefined)).toEqual({ _tag: "On", alg: "ES256", required: true });
    expect(forResource("auto", ["EdDSA"])).toEqual({ _tag: "On", alg: "EdDSA", required: true });
    expect(forResource("auto", ["HS256"])).toEqual({ _tag: "Unsupported", advertised: ["HS256"] });
    expect(forResource("auto", [])).toEqual({ _tag: "Unsupported", advertised: [] });
    expect(forResource("required", undefined)).toEqual(dpopDecision("required", undefined));
    expect(forResource("off", ["ES256"])).toEqual({ _tag: "RequiredByResource" });
    expect(forResource("off", undefined)).toEqual({ _tag: "RequiredByResource" });
    // Without the requirement nothing changes.
    expect(dpopDecision("auto", undefined, undefined, false)).toEqual(
      dpopDecision("auto", undefined),
    );
  });

  it("this client's preference order, not the server's; names are case-sensitive", () => {
    expect(chooseDpopAlgorithm(["RS256", "EdDSA", "ES256"])).toBe("ES256");
    expect(chooseDpopAlgorithm(["RS256", "EdDSA"])).toBe("EdDSA");
    expect(chooseDpopAlgorithm(["es256"])).toBeUndefined();
    expect(chooseDpopAlgorithm(["ES256", "RS256"], ["RS256"])).toBe("RS256");
  });
});

describe("RFC 9449 §5: token_type after a request with or without a proof", () => {
  it("DPoP only after a proof; Bearer unless binding is required; case-insensitive", () => {
    expect(tokenTypeVerdict("DPoP", "offered")).toEqual({ _tag: "Accepted", tokenType: "DPoP" });
    expect(tokenTypeVerdict("dpop", "required")).toEqual({ _tag: "Accepted", tokenType: "DPoP" });
    expect(tokenTypeVerdict("DPoP", "none")).toEqual({
      _tag: "Refused",
      reason: "dpop without proof",
    });
    expect(tokenTypeVerdict("bearer", "none")).toEqual({ _tag: "Accepted", tokenType: "Bearer" });
    expect(tokenTypeVerdict("Bearer", "offered")).toEqual({
      _tag: "Accepted",
      tokenType: "Bearer",
    });
    expect(tokenTypeVerdict("BEARER", "required")).toEqual({
      _tag: "Refused",
      reason: "bearer where binding is required",
    });
    expect(tokenTypeVerdict("mac", "offered")).toEqual({ _tag: "Refused", reason: "unknown" });
  });
});

describe("RFC 9449 §8.1, §9: nonces", () => {
  it("a nonce is 1*NQCHAR: visible ASCII without quote and backslash, bounded", () => {
    expect(isDpopNonce("eyJ7S_zG.J-g~!#$%&'()*+,/:;<=>?@[]^`{|}")).toBe(true);
    for (const bad of ["", "a b", 'a"b', "a\\b", "ä", "a\nb", "x".repeat(1025), 42, undefined]) {
      expect(isDpopNonce(bad)).toBe(false);
    }
    expect(readDpopNonce(null)).toBeUndefined();
    expect(readDpopNonce("n-1")).toBe("n-1");
  });

  it("a resource server's use_dpop_nonce: a 401 DPoP challenge with the nonce header", () => {
    const challenge = (
      wwwAuthenticate: string | readonly string[] | null,
      dpopNonce: string | null,
      status = 401,
    ) => readResourceNonceChallenge({ status, wwwAuthenticate, dpopNonce });
    expect(challenge('DPoP error="use_dpop_nonce", algs="ES256"', "n-1")).toBe("n-1");
    // Among other challenges, on another header line, case-insensitive scheme.
    expect(challenge(['Bearer realm="x"', 'dpop error="use_dpop_nonce"'], "n-2")).toBe("n-2");
    // Not a demand for a nonce:
    expect(challenge('DPoP error="use_dpop_nonce"', null)).toBeUndefined();
    expect(challenge('DPoP error="use_dpop_nonce"', "bad nonce")).toBeUndefined();
    expect(challenge('DPoP error="invalid_dpop_proof"', "n")).toBeUndefined();
    expect(challenge('Bearer error="use_dpop_nonce"', "n")).toBeUndefined();
    expect(challenge('DPoP error="use_dpop_nonce"', "n", 403)).toBeUndefined();
    expect(challenge(null, "n")).toBeUndefined();
  });
});
