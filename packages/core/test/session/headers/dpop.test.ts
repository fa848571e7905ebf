/** The DPoP-bound token path (setCredentials with a proof) over the plain-record headers. */
import { describe, expect, it } from "vitest";
import { TransportError } from "../../../src/errors.js";
import { decodeJwt } from "../../dpop-support.js";
import { redirect, seeded, serverUrl } from "../restored-support.js";

describe("DPoP-bound token", () => {
  it("DPoP <token> with a fresh proof per hop; the caller's DPoP/Authorization replaced; none off-origin", async () => {
    const { session, seen } = await seeded(
      (url) => {
        if (url === serverUrl) return redirect(303, "https://other.example/a");
        if (url === "https://other.example/a") return redirect(307, "http://127.0.0.1:9/back");
        return new Response("ok");
      },
      { tokenType: "DPoP" },
    );
    const r = await session.fetch(serverUrl, {
      method: "POST",
      body: "{}",
      headers: [
        ["DPOP", "caller-proof"],
        ["Authorization", "Bearer caller"],
      ],
    });
    expect(r.status).toBe(200);
    expect(seen.map((s) => [s.url, s.method, s.headers.authorization])).toEqual([
      [serverUrl, "POST", "DPoP tok-1"],
      ["https://other.example/a", "GET", undefined],
      ["http://127.0.0.1:9/back", "GET", "DPoP tok-1"],
    ]);
    expect(seen[1]?.headers.dpop).toBeUndefined();
    const p0 = decodeJwt(seen[0]?.headers.dpop ?? "").payload;
    const p2 = decodeJwt(seen[2]?.headers.dpop ?? "").payload;
    expect([p0.htm, p0.htu]).toEqual(["POST", serverUrl]);
    expect([p2.htm, p2.htu]).toEqual(["GET", "http://127.0.0.1:9/back"]);
    expect(p0.jti).not.toBe(p2.jti);
    for (const s of seen) {
      const keys = s.rawKeys.map((k) => k.toLowerCase());
      expect(keys.filter((k) => k === "dpop").length).toBeLessThanOrEqual(1);
      expect(keys.filter((k) => k === "authorization").length).toBeLessThanOrEqual(1);
    }
    await session.close();
  });

  it("a use_dpop_nonce challenge: a second send with the nonce, nothing of the first carried", async () => {
    let n = 0;
    const { session, seen } = await seeded(
      () =>
        n++ === 0
          ? new Response(null, {
              status: 401,
              headers: {
                "www-authenticate": 'DPoP error="use_dpop_nonce"',
                "dpop-nonce": "n-1",
              },
            })
          : new Response("ok"),
      { tokenType: "DPoP" },
    );
    const r = await session.fetch(serverUrl, { headers: { dpop: "caller" } });
    expect(r.status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(decodeJwt(seen[0]?.headers.dpop ?? "").payload.nonce).toBeUndefined();
    expect(decodeJwt(seen[1]?.headers.dpop ?? "").payload.nonce).toBe("n-1");
    expect(seen[0]?.raw).not.toBe(seen[1]?.raw);
    await session.close();
  });

  for (const token of ["SECRETzq\r\nX-Injected: 1", "SECRETzq☃", "SECRETzq\0"])
    it(`a DPoP token ${JSON.stringify(token)}: TransportError, nothing sent, no token text`, async () => {
      const { session, seen } = await seeded(() => new Response("ok"), {
        tokenType: "DPoP",
        token,
      });
      const error = await session.fetch(serverUrl).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TransportError);
      expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain("SECRETzq");
      expect(seen).toHaveLength(0);
      await session.close();
    });
});
