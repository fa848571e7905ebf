/**
 * Hostile servers meet DPoP and the grants without a browser: a resource server that asks for a
 * new nonce every time, and a device-code presenter that never returns.
 */
import { afterEach, describe, expect, it } from "vitest";
import { disposeWorlds, json, random, startWorld } from "./harness.js";

afterEach(disposeWorlds);

describe("a resource server that answers use_dpop_nonce forever", () => {
  it("one nonce retry, then a typed InvalidChallenge: no refresh, no second authorization", async () => {
    const w = await startWorld({
      asMetadata: { dpop_signing_alg_values_supported: ["ES256"] },
      token: (context) =>
        json(200, {
          access_token: context.accessToken,
          refresh_token: context.refreshToken,
          token_type: "DPoP",
          expires_in: 3600,
          scope: "read",
        }),
    });
    w.route("/mcp", (req) => {
      const auth = String(req.headers.authorization ?? "");
      if (!auth.startsWith("DPoP ") || !w.validTokens.has(auth.slice(5)))
        return { status: 401, headers: { "www-authenticate": w.challengeHeader() } };
      return {
        status: 401,
        headers: {
          "www-authenticate": 'DPoP error="use_dpop_nonce", error_description="nonce required"',
          "dpop-nonce": random(16),
        },
      };
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: { tag: "InvalidChallenge" } });
    expect(w.counters.authorizations).toBe(1);
    expect(w.counters.refreshRequests).toBe(0);
  });
});
