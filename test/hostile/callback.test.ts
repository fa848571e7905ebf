/**
 * A hostile authorization response (the callback the browser step returns): duplicated
 * parameters, wrong state or iss, error responses carrying token-like text, foreign redirect
 * URIs. None of them may reach the token endpoint.
 */
import { afterEach, describe, expect, it } from "vitest";
import { disposeWorlds, type PromptInfo, random, startWorld } from "./harness.js";

afterEach(disposeWorlds);

const withParams = (p: PromptInfo, query: string) => `${p.redirectUri}?${query}`;
const enc = encodeURIComponent;

describe("hostile callback: duplicated parameters", () => {
  it.each([
    [
      "code",
      (p: PromptInfo) =>
        `code=${enc(p.code)}&code=${enc(p.code)}x&state=${enc(p.state)}&iss=${enc(p.iss)}`,
    ],
    [
      "state",
      (p: PromptInfo) => `code=${enc(p.code)}&state=${enc(p.state)}&state=evil&iss=${enc(p.iss)}`,
    ],
    [
      "state (both copies right)",
      (p: PromptInfo) =>
        `code=${enc(p.code)}&state=${enc(p.state)}&state=${enc(p.state)}&iss=${enc(p.iss)}`,
    ],
    [
      "iss",
      (p: PromptInfo) =>
        `code=${enc(p.code)}&state=${enc(p.state)}&iss=${enc(p.iss)}&iss=https%3A%2F%2Fevil.example`,
    ],
    [
      "an unrelated parameter",
      (p: PromptInfo) => `code=${enc(p.code)}&state=${enc(p.state)}&iss=${enc(p.iss)}&foo=1&foo=2`,
    ],
  ])("duplicated %s: typed InvalidCallback and NO token request", async (_, query) => {
    const w = await startWorld({ callback: (p) => withParams(p, query(p)) });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "InvalidCallback" } });
    expect(w.counters.tokenRequests).toBe(0);
    expect(w.counters.authorizations).toBe(1);
  });
});

describe("hostile callback: wrong or missing state and iss", () => {
  it("a state this flow never sent (CSRF / mix-up): typed StateMismatch, NO token request", async () => {
    const w = await startWorld({
      callback: (p) => withParams(p, `code=${enc(p.code)}&state=${random()}&iss=${enc(p.iss)}`),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "StateMismatch" } });
    expect(w.counters.tokenRequests).toBe(0);
  });

  it("no state at all: typed StateMismatch, NO token request", async () => {
    const w = await startWorld({
      callback: (p) => withParams(p, `code=${enc(p.code)}&iss=${enc(p.iss)}`),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "StateMismatch" } });
    expect(w.counters.tokenRequests).toBe(0);
  });

  it("iss names another issuer (mix-up attack): typed IssMismatch, NO token request", async () => {
    const w = await startWorld({
      asMetadata: { authorization_response_iss_parameter_supported: true },
      callback: (p) =>
        withParams(
          p,
          `code=${enc(p.code)}&state=${enc(p.state)}&iss=${enc("https://evil.example")}`,
        ),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "IssMismatch" } });
    expect(w.counters.tokenRequests).toBe(0);
  });

  it("iss missing although the server advertises it: typed IssMismatch, NO token request", async () => {
    const w = await startWorld({
      asMetadata: { authorization_response_iss_parameter_supported: true },
      callback: (p) => withParams(p, `code=${enc(p.code)}&state=${enc(p.state)}`),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "IssMismatch" } });
    expect(w.counters.tokenRequests).toBe(0);
  });
});

describe("hostile callback: error responses and unusable URLs", () => {
  it("error=access_denied whose error_description carries a token-like string: typed AuthorizationDenied that does not quote it", async () => {
    const fake = `AT-fake-${random(24)}`;
    const w = await startWorld({
      callback: (p) =>
        withParams(
          p,
          `error=access_denied&error_description=${enc(`user said no; access_token=${fake}`)}&state=${enc(p.state)}&iss=${enc(p.iss)}`,
        ),
    });
    w.secrets.add(fake);
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "AuthorizationDenied" } });
    expect(out).toMatchObject({ kind: "error", error: { error: "access_denied" } });
    expect(w.counters.tokenRequests).toBe(0);
  });

  it("error=constructor (an Object.prototype name as the error code): typed AuthorizationDenied", async () => {
    const w = await startWorld({
      callback: (p) => withParams(p, `error=constructor&state=${enc(p.state)}&iss=${enc(p.iss)}`),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "AuthorizationDenied" } });
  });

  it("an error_description of 100 KB: typed AuthorizationDenied, message < 4 KB", async () => {
    const w = await startWorld({
      callback: (p) =>
        withParams(
          p,
          `error=server_error&error_description=${"d".repeat(100 * 1024)}&state=${enc(p.state)}&iss=${enc(p.iss)}`,
        ),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "AuthorizationDenied" } });
  });

  it("the callback arrives at another redirect URI: typed InvalidCallback, NO token request", async () => {
    const w = await startWorld({
      callback: (p) =>
        `http://127.0.0.1:1/other?code=${enc(p.code)}&state=${enc(p.state)}&iss=${enc(p.iss)}`,
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "InvalidCallback" } });
    expect(w.counters.tokenRequests).toBe(0);
  });

  it("the callback is not a URL: typed InvalidCallback", async () => {
    const w = await startWorld({ callback: () => "not a url at all" });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "InvalidCallback" } });
  });

  it("the callback carries no code: typed InvalidCallback, NO token request", async () => {
    const w = await startWorld({
      callback: (p) => withParams(p, `state=${enc(p.state)}&iss=${enc(p.iss)}`),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "InvalidCallback" } });
    expect(w.counters.tokenRequests).toBe(0);
  });

  it("the browser step fails: typed UserAgentFailed", async () => {
    const w = await startWorld({
      callback: () => {
        throw new Error("the browser crashed");
      },
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "UserAgentFailed" } });
  });
});
