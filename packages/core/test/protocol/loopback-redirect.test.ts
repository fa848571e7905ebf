/** RFC 8252 §7.3: loopback redirect URIs whose port is chosen when the request is made. */
import { describe, expect, it } from "vitest";
import {
  asksForEphemeralPort,
  boundRedirectAllowed,
  ephemeralPortProblem,
  isLoopbackIpLiteral,
  registeredRedirectUri,
} from "../../src/protocol/loopback-redirect.js";

describe("asksForEphemeralPort", () => {
  it("is port 0 on an http loopback IP literal", () => {
    expect(asksForEphemeralPort("http://127.0.0.1:0/callback")).toBe(true);
    expect(asksForEphemeralPort("http://[::1]:0/cb?x=1")).toBe(true);
  });

  it("is nothing else: a fixed port, no port, localhost, https, another address, not a URL", () => {
    for (const uri of [
      "http://127.0.0.1:33418/callback",
      "http://127.0.0.1/callback",
      "http://localhost:0/callback",
      "https://127.0.0.1:0/callback",
      "http://127.0.0.2:0/callback",
      "http://10.0.0.1:0/callback",
      "com.example.app:/callback",
      "not a url",
    ])
      expect(asksForEphemeralPort(uri), uri).toBe(false);
  });

  it("names only the two literals of RFC 8252 §7.3", () => {
    expect(["127.0.0.1", "[::1]", "localhost", "127.1.1.1"].map(isLoopbackIpLiteral)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});

describe("registeredRedirectUri", () => {
  it("drops the 0 port: the form the authorization server matches any port against", () => {
    expect(registeredRedirectUri("http://127.0.0.1:0/callback")).toBe("http://127.0.0.1/callback");
    expect(registeredRedirectUri("http://[::1]:0/cb?a=b")).toBe("http://[::1]/cb?a=b");
  });

  it("leaves every other URI as configured", () => {
    for (const uri of [
      "http://127.0.0.1:33418/callback",
      "http://localhost:0/cb",
      "https://app.example/cb",
    ])
      expect(registeredRedirectUri(uri)).toBe(uri);
  });
});

describe("boundRedirectAllowed", () => {
  const ephemeral = "http://127.0.0.1:0/callback";

  it("an ephemeral-port URI with a real port in place of 0", () => {
    expect(boundRedirectAllowed(ephemeral, "http://127.0.0.1:54321/callback")).toBe(true);
    expect(boundRedirectAllowed("http://[::1]:0/cb", "http://[::1]:1/cb")).toBe(true);
  });

  it("never port 0 itself, no port, another host, path, query or scheme", () => {
    for (const bound of [
      ephemeral,
      "http://127.0.0.1/callback",
      "http://localhost:5000/callback",
      "http://127.0.0.1:5000/callback/",
      "http://127.0.0.1:5000/callback?x=1",
      "http://127.0.0.1:5000/other",
      "https://127.0.0.1:5000/callback",
      "http://user@127.0.0.1:5000/callback",
      "http://127.0.0.1:5000/callback#f",
      "garbage",
    ])
      expect(boundRedirectAllowed(ephemeral, bound), bound).toBe(false);
  });

  it("a fixed-port or non-loopback URI only as configured", () => {
    const fixed = "http://127.0.0.1:33418/callback";
    expect(boundRedirectAllowed(fixed, fixed)).toBe(true);
    expect(boundRedirectAllowed(fixed, "http://127.0.0.1:33419/callback")).toBe(false);
    expect(boundRedirectAllowed("https://app.example/cb", "https://app.example/cb")).toBe(true);
  });
});

describe("ephemeralPortProblem", () => {
  it("port 0 anywhere but on an http loopback IP literal is a configuration problem", () => {
    expect(ephemeralPortProblem("http://localhost:0/cb")).toContain("loopback IP literal");
    expect(ephemeralPortProblem("https://app.example:0/cb")).toContain("RFC 8252");
    expect(ephemeralPortProblem("http://127.0.0.1:0/cb")).toBeUndefined();
    expect(ephemeralPortProblem("http://localhost:8080/cb")).toBeUndefined();
  });
});
