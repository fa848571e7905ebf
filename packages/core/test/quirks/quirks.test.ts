/** The quirk profiles' pure parts: matching by issuer, settings, and each adjustment. */
import { Effect, Redacted } from "effect";
import { describe, expect, it } from "vitest";
import {
  adjustApiRequest,
  adjustAuthorizationRequest,
  adjustScopes,
  adjustTokenRequest,
  unqualifyGranted,
} from "../../src/quirks/apply.js";
import { issuerMatches, quirkSettingsProblem, resolveQuirks } from "../../src/quirks/match.js";
import { builtInProfiles } from "../../src/quirks/profiles.js";
import type { OAuthResponse } from "../../src/services/http.js";
import { buildAuthorizationUrl } from "../../src/steps/authorize.js";
import { clientCredentialsParams } from "../../src/steps/client-credentials.js";
import {
  deviceAuthorizationParams,
  deviceTokenParams,
  processDeviceAuthorizationResponse,
} from "../../src/steps/device-authorization.js";
import { jwtBearerParams } from "../../src/steps/jwt-bearer.js";
import { idJagRequestParams } from "../../src/steps/token-exchange.js";
import { acceptsForm } from "../../src/steps/tokens.js";

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

describe("the grants without an authorization request", () => {
  const entra = resolveQuirks(undefined, "https://login.microsoftonline.com/t/v2.0");
  const auth0 = resolveQuirks(undefined, "https://acme.auth0.com/");
  const github = resolveQuirks(undefined, "https://github.com/login/oauth");
  const slack = resolveQuirks(undefined, "https://slack.com");
  const assertion = Redacted.make("header.payload.signature");

  it("client credentials at Entra: {api}/.default alone, no resource (the app's permissions are the console's)", () => {
    const params = clientCredentialsParams({
      resource,
      scopes: ["mcp:read", "openid", "mcp:write"],
      quirks: entra,
    });
    expect([...params]).toEqual([
      ["grant_type", "client_credentials"],
      ["scope", `${resource}/.default`],
    ]);
    const { adjustments } = adjustApiRequest(
      entra,
      { resource, scopes: ["mcp:read"] },
      "client_credentials",
    );
    expect(adjustments.map((a) => a.adjustment)).toEqual(["qualifyScopes", "omitResource"]);
    // The granted `.default` is not a scope the lifecycle asked for.
    expect(unqualifyGranted(entra, resource, [`${resource}/.default`])).toEqual([]);
  });

  it("client credentials, JWT bearer and the device request at Auth0: audience; the device code's token request: nothing", () => {
    for (const params of [
      clientCredentialsParams({ resource, scopes: ["a"], quirks: auth0 }),
      jwtBearerParams({ assertion, resource, scopes: ["a"], quirks: auth0 }),
      deviceAuthorizationParams({ resource, scopes: ["a"], quirks: auth0 }),
    ]) {
      expect(params.get("audience")).toBe(resource);
      expect(params.get("resource")).toBe(resource);
      expect(params.get("scope")).toBe("a");
    }
    const poll = deviceTokenParams({ deviceCode: Redacted.make("dc"), resource, quirks: auth0 });
    expect(poll.has("audience")).toBe(false);
    expect(poll.get("resource")).toBe(resource);
  });

  it("JWT bearer and the device grant at Entra: scopes qualified as for a user, no resource on any request", () => {
    const bearer = jwtBearerParams({ assertion, resource, scopes: ["mcp:read"], quirks: entra });
    expect(bearer.get("scope")).toBe(`${resource}/mcp:read`);
    expect(bearer.has("resource")).toBe(false);
    const device = deviceAuthorizationParams({
      resource,
      scopes: ["offline_access"],
      quirks: entra,
    });
    expect(device.get("scope")).toBe(`${resource}/.default offline_access`);
    expect(device.has("resource")).toBe(false);
    const poll = deviceTokenParams({ deviceCode: Redacted.make("dc"), resource, quirks: entra });
    expect([...poll.keys()]).toEqual(["grant_type", "device_code"]);
    expect(
      adjustTokenRequest(entra, { grantType: "device_code", resource }).adjustments.map(
        (a) => a.adjustment,
      ),
    ).toEqual(["omitResource"]);
  });

  it("the token exchange: the audience stays the authorization server's, whatever the profile (RFC 8693 §2.1)", () => {
    const withAudience = resolveQuirks(
      {
        servers: [
          {
            issuer: "https://idp.example",
            adjustments: {
              audience: { value: "https://evil.example", why: "w" },
              omitResource: { why: "w" },
              scopeDelimiter: { delimiter: ",", why: "w" },
            },
          },
        ],
      },
      "https://idp.example",
    );
    const params = idJagRequestParams({
      subjectToken: assertion,
      audience: "https://as.example",
      resource,
      scopes: ["a", "b"],
      quirks: withAudience,
    });
    expect(params.getAll("audience")).toEqual(["https://as.example"]);
    expect(params.has("resource")).toBe(false);
    expect(params.get("scope")).toBe("a,b");
    expect(
      adjustApiRequest(
        withAudience,
        { resource, scopes: ["a", "b"] },
        "token_exchange",
      ).adjustments.map((a) => a.adjustment),
    ).toEqual(["omitResource", "scopeDelimiter"]);
  });

  it("no profile: every grant's parameters are as before, each scope once", () => {
    expect([...clientCredentialsParams({ resource, scopes: ["b", "a", "b"] })]).toEqual([
      ["grant_type", "client_credentials"],
      ["scope", "b a"],
      ["resource", resource],
    ]);
    expect([...deviceAuthorizationParams({ resource, scopes: ["a"] })]).toEqual([
      ["scope", "a"],
      ["resource", resource],
    ]);
    for (const request of [
      "authorization",
      "device_authorization",
      "client_credentials",
      "jwt_bearer",
      "token_exchange",
    ] as const)
      expect(adjustApiRequest(undefined, { resource, scopes: ["a"] }, request)).toEqual({
        resource,
        audience: undefined,
        scope: "a",
        adjustments: [],
      });
  });

  it("a form-encoded device authorization answer is read where the profile says so (GitHub), numbers as numbers", async () => {
    const response = {
      status: 200,
      url: "https://github.com/login/device/code",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: new TextEncoder().encode(
        "device_code=dc&user_code=ABCD-1234&verification_uri=https%3A%2F%2Fgithub.com%2Flogin%2Fdevice&expires_in=900&interval=5",
      ),
    } as unknown as OAuthResponse;
    const options = { now: 0, policy: { allowInsecureLoopback: false } };
    const read = await Effect.runPromise(
      processDeviceAuthorizationResponse(response, { ...options, acceptForm: acceptsForm(github) }),
    );
    expect(read).toMatchObject({ userCode: "ABCD-1234", intervalSeconds: 5, expiresAt: 900_000 });
    const refused = await Effect.runPromise(
      Effect.flip(
        processDeviceAuthorizationResponse(response, {
          ...options,
          acceptForm: acceptsForm(slack),
        }),
      ),
    );
    // Without the profile: the typed error a JSON reader gives a form body.
    expect(refused).toMatchObject({ _tag: "UnexpectedContentType" });
  });
});
