/**
 * The pure defences against hostile input, each on its own: address classes a remote server may
 * not point the client at, JSON depth, token syntax, expires_in, duplicated callback parameters,
 * and error texts that cannot carry a header value.
 */
import { describe, expect, it } from "vitest";
import { describeDefect } from "../../src/errors.js";
import { isLocalNetworkHost } from "../../src/protocol/resource-uri.js";
import {
  isSendableToken,
  maxTokenLifetimeSeconds,
  tokenLifetimeSeconds,
} from "../../src/schema/wire.js";
import {
  checkTransportSecurity,
  describeTransportFailure,
  jsonDepth,
  maxJsonDepth,
} from "../../src/services/http.js";
import { duplicatedParameter } from "../../src/steps/authorize.js";

describe("isLocalNetworkHost (SSRF, RFC 9728 §7.7)", () => {
  it.each([
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "localhost",
    "LOCALHOST",
    "api.localhost",
    "[::1]",
    "::1",
    "[::]",
    "[fe80::1]",
    "[fd12:3456::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a00:1]",
    "0x7f.1",
    "2130706433",
    "017700000001",
    "localhost.",
    "api.localhost.",
    "127.0.0.1.",
    "[::127.0.0.1]",
    "[::a9fe:a9fe]",
    "[2002:7f00:1::]",
    "[2002:a00:1::1]",
  ])("%s is local", (host) => {
    expect(isLocalNetworkHost(host)).toBe(true);
  });
  it.each([
    "8.8.8.8",
    "172.32.0.1",
    "192.169.0.1",
    "example.com",
    "localhost.example.com",
    "[2001:db8::1]",
    "[::ffff:8.8.8.8]",
    "[2002:808:808::1]",
    "example.com.",
    "not a host",
  ])("%s is not", (host) => {
    expect(isLocalNetworkHost(host)).toBe(false);
  });

  it("checkTransportSecurity refuses them unless the policy allows, and refuses userinfo", () => {
    const remote = { allowInsecureLoopback: false, allowPrivateNetwork: false };
    expect(checkTransportSecurity("https://10.0.0.1/prm", remote)?._tag).toBe("InsecureUrl");
    expect(checkTransportSecurity("https://[fd00::1]/prm", remote)?._tag).toBe("InsecureUrl");
    expect(checkTransportSecurity("https://as.example/prm", remote)).toBeUndefined();
    expect(
      checkTransportSecurity("https://10.0.0.1/prm", { ...remote, allowPrivateNetwork: true }),
    ).toBeUndefined();
    const userinfo = checkTransportSecurity("https://u:secret-pw@as.example/x", remote);
    expect(userinfo?._tag).toBe("InsecureUrl");
    expect(JSON.stringify(userinfo)).not.toContain("secret-pw");
    expect(userinfo?.message).not.toContain("secret-pw");
  });
});

describe("jsonDepth", () => {
  it("counts nesting in one pass, ignoring brackets inside strings", () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[[["}]}')).toBe(3);
    expect(jsonDepth('"\\"[["')).toBe(0);
    expect(jsonDepth("[".repeat(100_000))).toBe(100_000);
    expect(maxJsonDepth).toBeGreaterThanOrEqual(8);
  });
});

describe("isSendableToken (RFC 6750 §2.1, and what a header can carry)", () => {
  it.each([
    ["a JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_", true],
    ["a token with ! (Salesforce)", "00D!AQ4AQ.x", true],
    ["CR LF", "abc\r\nX-Injected: 1", false],
    ["NUL", "abc\u0000", false],
    ["a space", "abc def", false],
    ["non-ASCII", "tökén", false],
    ["empty", "", false],
    ["64 KiB + 1", "a".repeat(65_537), false],
  ])("%s", (_, token, ok) => {
    expect(isSendableToken(token)).toBe(ok);
  });
});

describe("tokenLifetimeSeconds: every expires_in has a meaning", () => {
  it.each([
    [3600, 3600],
    ["3600", 3600],
    [" 60 ", 60],
    [1.9, 1],
    [0, undefined],
    [0.5, undefined],
    [-5, undefined],
    ["abc", undefined],
    ["", undefined],
    [null, undefined],
    [undefined, undefined],
    [{}, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, maxTokenLifetimeSeconds],
    [1e12, maxTokenLifetimeSeconds],
    ["1e400", maxTokenLifetimeSeconds],
  ])("%s -> %s", (value, seconds) => {
    expect(tokenLifetimeSeconds(value)).toBe(seconds);
  });
});

describe("duplicatedParameter (RFC 6749 §3.1)", () => {
  it("finds any parameter given twice", () => {
    expect(duplicatedParameter(new URLSearchParams("code=a&state=s&code=b"))).toBe("code");
    expect(duplicatedParameter(new URLSearchParams("code=a&state=s&iss=x&iss=y"))).toBe("iss");
    expect(duplicatedParameter(new URLSearchParams("code=a&state=s"))).toBeUndefined();
    expect(
      duplicatedParameter(new URLSearchParams(`${"x".repeat(100)}=1&${"x".repeat(100)}=2`)),
    ).toBe("(unnamed)");
  });
});

describe("error texts never carry a header value", () => {
  it("describeTransportFailure gives a code or a class, never a message", () => {
    const headers = (() => {
      try {
        new Headers().set("authorization", "Bearer secret-token\r\n");
      } catch (error) {
        return error;
      }
    })();
    expect(describeTransportFailure(headers)).not.toContain("secret-token");
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });
    expect(describeTransportFailure(refused)).toBe("ECONNREFUSED");
  });

  it("describeDefect cuts credentials and long runs out of a message", () => {
    const text = describeDefect(
      new TypeError(
        "Headers.set: 'Bearer abc.def-secret' is an invalid header value for eyJhbGciOiJIUzI1NiJ9xyzxyz",
      ),
    );
    expect(text).not.toContain("abc.def-secret");
    expect(text).not.toContain("eyJhbGciOiJIUzI1NiJ9");
    expect(text.startsWith("TypeError:")).toBe(true);
    expect(describeDefect(new Error("x".repeat(10_000))).length).toBeLessThan(300);
    expect(describeDefect("not an error")).toBe("unknown failure");
  });
});

describe("scrubText: credentials out, prose kept", () => {
  it("redacts a credential after an auth scheme and long token-like runs, not the words", async () => {
    const { scrubText } = await import("../../src/errors.js");
    expect(scrubText("Auth server only supports jwt-bearer grant, got authorization_code")).toBe(
      "Auth server only supports jwt-bearer grant, got authorization_code",
    );
    expect(scrubText("invalid header: Bearer abc123.def456")).toBe(
      "invalid header: Bearer <redacted>",
    );
    expect(scrubText("Basic dXNlcjpwYXNz")).toBe("Basic <redacted>");
    expect(scrubText("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here")).not.toContain("eyJ");
  });
});

describe("identity provider text never reaches a message raw", () => {
  it("issued_token_type with escape sequences and a token-like run: scrubbed", async () => {
    const { processIdJagResponse } = await import("../../src/steps/token-exchange.js");
    const { answer } = await import("../steps/grant-helpers.js");
    const { Effect, Either } = await import("effect");
    const jag = `eyJ${"a".repeat(60)}.eyJ${"b".repeat(60)}.${"c".repeat(40)}`;
    const result = Effect.runSync(
      Effect.either(
        processIdJagResponse(
          answer(200, {
            access_token: jag,
            issued_token_type: `\u001b[2J x ${jag}`,
            token_type: "N_A",
          }),
        ),
      ),
    );
    expect(Either.isLeft(result)).toBe(true);
    const message = Either.isLeft(result) ? result.left.message : "";
    expect(message).toContain("issued_token_type");
    expect(message).not.toContain("\u001b");
    expect(message).not.toContain(jag.slice(0, 30));
  });
});
