/**
 * A hostile token endpoint: unsendable tokens, odd expiries, errors of every shape, non-JSON,
 * huge bodies, redirects, silence.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  deepArray,
  disposeWorlds,
  html,
  json,
  rawJson,
  requestsTo,
  startWorld,
  tenMegabytesStreamed,
} from "./harness.js";

afterEach(disposeWorlds);

describe("hostile token endpoint: access tokens that cannot be sent in a header", () => {
  it.each([
    ["CR", "\r"],
    ["LF", "\n"],
    ["CRLF header injection", "\r\nX-Injected: 1"],
    ["NUL", "\u0000"],
    ["space", " "],
    ["non-ASCII", "é☃"],
  ])(
    "an access token containing %s: typed InvalidDocument quoting nothing of it, no token stored",
    async (_, bad) => {
      let poisoned = "";
      const w = await startWorld({
        token: ({ accessToken }) => {
          poisoned = `${accessToken.slice(0, 12)}${bad}${accessToken.slice(12)}`;
          return json(200, { access_token: poisoned, token_type: "Bearer", expires_in: 3600 });
        },
      });
      const out = await w.call();
      // The poisoned token and its random tail are secrets too (the checker looks for each).
      w.secrets.add(poisoned);
      w.secrets.add(poisoned.slice(14));
      await w.check(out, { maxRequests: 8, expect: { tag: "InvalidDocument" } });
      expect(w.session.state().token).toBeUndefined();
      expect(w.records.filter((r) => r.authorization?.startsWith("Bearer"))).toHaveLength(0);
    },
  );
});

describe("hostile token endpoint: expires_in", () => {
  it.each([
    ["0", "0"],
    ["negative", "-30"],
    ['"abc"', '"abc"'],
    ["1e400 (Infinity when parsed)", "1e400"],
    ["huge (1e12 s)", "1000000000000"],
    ['"3600" as a string', '"3600"'],
  ])(
    "expires_in %s: the token is used, no refresh loop, expiry finite or unknown",
    async (_, raw) => {
      const w = await startWorld({
        token: ({ accessToken, refreshToken }) =>
          rawJson(
            200,
            `{"access_token":"${accessToken}","token_type":"Bearer","refresh_token":"${refreshToken}","scope":"read","expires_in":${raw}}`,
          ),
      });
      const first = await w.call();
      const tokenRequestsAfterFirst = w.counters.tokenRequests;
      const second = await w.call();
      expect(tokenRequestsAfterFirst).toBe(1);
      // A second call makes at most one more token request (expires_in 0 may be treated as due).
      expect(w.counters.tokenRequests).toBeLessThanOrEqual(2);
      const expiresAt = w.session.state().token?.expiresAt;
      if (expiresAt !== undefined) expect(Number.isFinite(expiresAt)).toBe(true);
      await w.check([first, second], { maxRequests: 12, expect: { status: 200 } });
    },
  );

  it("expires_in 0: a protected call makes at most 1 token request, every call", async () => {
    const w = await startWorld({
      token: ({ accessToken, refreshToken }) =>
        json(200, {
          access_token: accessToken,
          refresh_token: refreshToken,
          token_type: "Bearer",
          expires_in: 0,
        }),
    });
    const outcomes = [];
    for (let i = 0; i < 4; i++) {
      const before = w.counters.tokenRequests;
      outcomes.push(await w.call());
      expect(w.counters.tokenRequests - before).toBeLessThanOrEqual(1);
    }
    await w.check(outcomes, { maxRequests: 16, expect: { status: 200 } });
  });
});

describe("hostile token endpoint: errors", () => {
  it("invalid_grant: typed TokenRejected with that code", async () => {
    const w = await startWorld({ token: () => json(400, { error: "invalid_grant" }) });
    const out = await w.call();
    await w.check(out, { maxRequests: 10, expect: { tag: "TokenRejected" } });
    expect(out).toMatchObject({ error: { code: "invalid_grant" } });
  });

  it("invalid_client every time: typed TokenRejected after at most one re-registration", async () => {
    const w = await startWorld({ token: () => json(401, { error: "invalid_client" }) });
    const out = await w.call();
    await w.check(out, { maxRequests: 14, expect: { tag: "TokenRejected" } });
    expect(w.counters.registrations).toBeLessThanOrEqual(2);
    expect(w.counters.tokenRequests).toBeLessThanOrEqual(2);
  });

  it("500 with HTML: typed TokenEndpointFailed (or UnexpectedContentType)", async () => {
    const w = await startWorld({ token: () => html(500) });
    const out = await w.call();
    await w.check(out, {
      maxRequests: 10,
      expect: { tag: ["TokenEndpointFailed", "UnexpectedContentType", "UnexpectedStatus"] },
    });
  });

  it("an error_description of 100 KB: typed TokenRejected, message < 4 KB", async () => {
    const w = await startWorld({
      token: () => json(400, { error: "invalid_grant", error_description: "e".repeat(100 * 1024) }),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 10, expect: { tag: "TokenRejected" } });
  });

  it.each(["__proto__", "constructor", "hasOwnProperty"])(
    "an error code %s (Object.prototype name): typed TokenRejected or TokenEndpointFailed",
    async (code) => {
      const w = await startWorld({ token: () => json(400, { error: code }) });
      const out = await w.call();
      await w.check(out, {
        maxRequests: 10,
        expect: { tag: ["TokenRejected", "TokenEndpointFailed"] },
      });
    },
  );

  it("token_type mac instead of Bearer: typed TokenEndpointFailed, token never used", async () => {
    const w = await startWorld({
      token: ({ accessToken }) => json(200, { access_token: accessToken, token_type: "mac" }),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "TokenEndpointFailed" } });
    expect(w.records.filter((r) => r.authorization?.startsWith("Bearer"))).toHaveLength(0);
  });

  it("a granted scope of Object.prototype names: success", async () => {
    const w = await startWorld({
      token: ({ accessToken }) =>
        json(200, {
          access_token: accessToken,
          token_type: "Bearer",
          expires_in: 3600,
          scope: "constructor __proto__ toString hasOwnProperty valueOf",
        }),
    });
    const out = await w.call();
    await w.check(out, {
      maxRequests: 10,
      expect: { statusOrTag: { status: 200, tags: ["ScopeDeclined"] } },
    });
  });
});

describe("hostile token endpoint: bodies, redirects, silence", () => {
  it("a 200 HTML page: typed UnexpectedContentType", async () => {
    const w = await startWorld({ token: () => html(200) });
    const out = await w.call();
    await w.check(out, {
      maxRequests: 8,
      expect: { tag: ["UnexpectedContentType", "TokenEndpointFailed"] },
    });
  });

  it("a token response nested 100,000 levels deep: typed error, no stack overflow", async () => {
    const w = await startWorld({ token: () => rawJson(200, deepArray(100_000)) });
    const out = await w.call();
    await w.check(out, {
      maxRequests: 8,
      expect: {
        tag: ["MalformedJson", "InvalidDocument", "TokenEndpointFailed", "ResponseTooLarge"],
      },
    });
  });

  it("a 10 MB streamed token response: typed ResponseTooLarge", async () => {
    const w = await startWorld({ token: () => tenMegabytesStreamed() });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "ResponseTooLarge" } });
  });

  it("the token endpoint redirects the code exchange: typed UnexpectedRedirect, the code is not re-sent", async () => {
    const w = await startWorld({
      token: () => ({ status: 307, headers: { location: "/token-elsewhere" } }),
    });
    w.route("/token-elsewhere", json(200, { access_token: "x", token_type: "Bearer" }));
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "UnexpectedRedirect" } });
    expect(requestsTo(w, "/token-elsewhere")).toHaveLength(0);
  });

  it("the token endpoint never answers: typed RequestTimeout", async () => {
    const w = await startWorld({
      session: { http: { timeoutMillis: 1_500 } },
      token: () => ({ hang: true }),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "RequestTimeout" } });
  });
});
