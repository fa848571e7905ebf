/** The quirk profiles' pure parts: matching by issuer, settings, and each adjustment. */
import { describe, expect, it } from "vitest";
import {
  adjustAuthorizationRequest,
  adjustScopes,
  adjustTokenRequest,
  unqualifyGranted,
} from "../../src/quirks/apply.js";
import { issuerMatches, quirkSettingsProblem, resolveQuirks } from "../../src/quirks/match.js";
import { builtInProfiles } from "../../src/quirks/profiles.js";
import { buildAuthorizationUrl } from "../../src/steps/authorize.js";

const resource = "https://mcp.example.com/mcp";

describe("matching by issuer", () => {
  it.each([
    ["https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", "entra-id-v2"],
    ["https://acme.auth0.com/", "auth0"],
    ["https://acme.eu.auth0.com/", "auth0"],
    ["https://github.com/login/oauth", "github"],
    ["https://accounts.google.com", "google"],
    ["https://acme.okta.com/oauth2/default", "okta"],
    ["https://bindings.mcp.cloudflare.com", "cloudflare"],
    ["https://slack.com", "slack"],
    ["https://mcp.hubspot.com", "hubspot"],
  ])("%s is %s", (issuer, id) => {
    expect(resolveQuirks(undefined, issuer)).toMatchObject({ profile: id, matchedBy: "issuer" });
  });

  it.each([
    "https://as.example.com",
    "https://login.microsoftonline.com/tenant/v2.0/extra",
    "https://evil.example/https://accounts.google.com",
    "https://accounts.google.com.evil.example",
    "https://acme.auth0.com", // Auth0's issuer has its trailing slash: no normalization
    "https://a.b.mcp.cloudflare.com",
  ])("an issuer no profile names gets none: %s", (issuer) => {
    expect(resolveQuirks(undefined, issuer)).toBeUndefined();
  });

  it("a placeholder is one label or segment, never a dot or a slash", () => {
    expect(issuerMatches("https://{t}.auth0.com/", "https://x.y.auth0.com/")).toBe(false);
    expect(issuerMatches("https://{t}.auth0.com/", "https://x-1.auth0.com/")).toBe(true);
  });

  it("client settings choose, override, extend or switch off a profile per server", () => {
    const issuer = "https://as.example.com";
    expect(resolveQuirks({ servers: [{ issuer, profile: "auth0" }] }, issuer)).toMatchObject({
      profile: "auth0",
      matchedBy: "client settings",
    });
    expect(
      resolveQuirks(
        { servers: [{ issuer: "https://accounts.google.com", profile: "none" }] },
        "https://accounts.google.com",
      ),
    ).toBeUndefined();
    expect(resolveQuirks({ builtIn: false }, "https://accounts.google.com")).toBeUndefined();
    const overridden = resolveQuirks(
      {
        servers: [
          {
            issuer,
            profile: "auth0",
            adjustments: { audience: { value: "https://api", why: "the API's identifier" } },
          },
        ],
      },
      issuer,
    );
    expect(adjustAuthorizationRequest(overridden, { resource, scopes: [] }).audience).toBe(
      "https://api",
    );
    const own = resolveQuirks(
      {
        profiles: [
          {
            id: "mine",
            name: "Mine",
            issuers: [issuer],
            sources: [],
            adjustments: { omitResource: { why: "w" } },
          },
        ],
      },
      issuer,
    );
    expect(own?.profile).toBe("mine");
  });

  it("settings naming an unknown profile are a configuration problem", () => {
    expect(quirkSettingsProblem({ servers: [{ issuer: "https://a", profile: "nope" }] })).toContain(
      "nope",
    );
    expect(
      quirkSettingsProblem({ servers: [{ issuer: "https://a", profile: "github" }] }),
    ).toBeUndefined();
  });

  it("every built-in profile cites its sources and says why for each adjustment", () => {
    for (const profile of builtInProfiles) {
      expect(profile.sources.length).toBeGreaterThan(0);
      for (const source of profile.sources) expect(source).toMatch(/^https:\/\//);
      for (const adjustment of Object.values(profile.adjustments))
        expect(adjustment?.why.length).toBeGreaterThan(10);
    }
  });
});

describe("adjustments", () => {
  const entra = resolveQuirks(undefined, "https://login.microsoftonline.com/t/v2.0");

  it("no profile: nothing changes", () => {
    const adjusted = adjustAuthorizationRequest(undefined, { resource, scopes: ["a", "b"] });
    expect(adjusted).toEqual({
      resource,
      audience: undefined,
      scope: "a b",
      extra: {},
      adjustments: [],
    });
  });

  it("Entra: bare scopes qualified, OIDC scopes kept, .default when no API scope is left", () => {
    expect(
      adjustScopes(entra, { resource, scopes: ["mcp:read", "offline_access"] }).scopes,
    ).toEqual([`${resource}/mcp:read`, "offline_access"]);
    expect(adjustScopes(entra, { resource, scopes: ["offline_access"] }).scopes).toEqual([
      `${resource}/.default`,
      "offline_access",
    ]);
    expect(adjustScopes(entra, { resource, scopes: ["api://x/read"] }).scopes).toEqual([
      "api://x/read",
    ]);
    expect(
      unqualifyGranted(entra, resource, [`${resource}/mcp:read`, `${resource}/.default`]),
    ).toEqual(["mcp:read"]);
  });

  it("offline_access alone is dropped where a profile says so", () => {
    const q = resolveQuirks(
      {
        servers: [
          { issuer: "https://a", adjustments: { offlineAccessOnlyWithOther: { why: "w" } } },
        ],
      },
      "https://a",
    );
    expect(adjustScopes(q, { resource, scopes: ["offline_access"] }).scopes).toEqual([]);
    expect(adjustScopes(q, { resource, scopes: ["x", "offline_access"] }).scopes).toEqual([
      "x",
      "offline_access",
    ]);
  });

  it("Entra: a refresh carries the granted scope, qualified, and no resource", () => {
    const adjusted = adjustTokenRequest(entra, {
      grantType: "refresh_token",
      resource,
      granted: ["mcp:read"],
    });
    expect(adjusted.resource).toBeUndefined();
    expect(adjusted.scope).toBe(`${resource}/mcp:read`);
    expect(adjusted.adjustments.map((a) => a.adjustment)).toEqual([
      "omitResource",
      "scopeOnRefresh",
      "qualifyScopes",
    ]);
    // Without the profile a refresh carries no scope and keeps the resource.
    expect(
      adjustTokenRequest(undefined, {
        grantType: "refresh_token",
        resource,
        granted: ["mcp:read"],
      }),
    ).toEqual({
      resource,
      scope: undefined,
      adjustments: [],
    });
  });

  it("no profile sets a security parameter: state, PKCE, client_id, redirect_uri, response_type stay the lifecycle's", () => {
    const hostile = resolveQuirks(
      {
        servers: [
          {
            issuer: "https://a",
            adjustments: {
              authorizationParams: {
                why: "w",
                params: {
                  state: "x",
                  code_challenge: "x",
                  code_challenge_method: "plain",
                  client_id: "x",
                  redirect_uri: "https://evil",
                  response_type: "token",
                  iss: "x",
                  extra: "ok",
                },
              },
            },
          },
        ],
      },
      "https://a",
    );
    const url = new URL(
      buildAuthorizationUrl(
        {
          issuer: "https://a",
          metadata: {
            issuer: "https://a",
            authorization_endpoint: "https://a/authorize",
            token_endpoint: "https://a/token",
            response_types_supported: ["code"],
          } as never,
          client: {
            issuer: "https://a",
            kind: "pre-registered",
            clientId: "c",
            redirectUris: [],
            registeredAt: 0,
          },
          redirectUri: "http://127.0.0.1:1/cb",
          resource,
          scopes: ["s"],
          quirks: hostile,
        },
        { codeChallenge: "challenge", state: "state" },
      ),
    ).searchParams;
    expect(url.get("state")).toBe("state");
    expect(url.get("code_challenge")).toBe("challenge");
    expect(url.get("code_challenge_method")).toBe("S256");
    expect(url.get("client_id")).toBe("c");
    expect(url.get("redirect_uri")).toBe("http://127.0.0.1:1/cb");
    expect(url.get("response_type")).toBe("code");
    expect(url.has("iss")).toBe(false);
    expect(url.get("extra")).toBe("ok");
  });
});
