/**
 * Quirk profiles end to end (packages/core/src/quirks/): testkit's oidc-provider made to behave
 * like each profile's server by one knob, and the same session run twice — without the profile
 * (the testkit's issuer matches no built-in pattern, so nothing is adjusted) it fails, with the
 * profile chosen for that issuer in the client settings it succeeds, and every adjustment is a
 * trace entry naming the profile. An issuer no profile knows gets no adjustment at all.
 */
import {
  type ClientSettings,
  createSession,
  type QuirkServerSettings,
  type Session,
  type TraceEntry,
} from "@authchart/core";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { Redacted } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, redirectUri } from "./support.js";

const kits: Testkit[] = [];
const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  for (const k of kits.splice(0)) await k.close();
});

const base = { clientName: "authchart e2e", redirectUris: [redirectUri] as [string] };

const kit = async (options: TestkitOptions) => {
  const k = await startTestkit(options);
  kits.push(k);
  return k;
};

/** A session against `k` with these settings; the authorization URLs it opened are kept. */
const open = async (k: Testkit, client: ClientSettings) => {
  const urls: string[] = [];
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client,
    userAgent: (prompt) => {
      urls.push(prompt.url);
      return k.user.authorize(prompt.url);
    },
  });
  sessions.push(s);
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { s, trace, urls };
};

/** The client settings with `profile` chosen for the testkit's issuer. */
const withProfile = (
  k: Testkit,
  client: ClientSettings,
  profile: string,
  extra: Omit<QuirkServerSettings, "issuer" | "profile"> = {},
): ClientSettings => ({
  ...client,
  quirks: { servers: [{ issuer: k.issuer, profile, ...extra }] },
});

const quirkEntries = (trace: readonly TraceEntry[]) => trace.filter((t) => t.decision === "quirk");
const adjustmentsOf = (trace: readonly TraceEntry[]) =>
  quirkEntries(trace).map((t) => t.details?.adjustment);

/** A client registered at the testkit ahead of time, as a console would (no DCR by the session). */
const preRegister = async (k: Testkit, metadata: Record<string, unknown> = {}) => {
  const registered = await k.registerClient({
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...metadata,
  });
  k.clearLog();
  return registered;
};

describe("every built-in profile: fails without it, passes with it", () => {
  it("Entra ID v2: no resource parameter, scopes qualified with the API", async () => {
    const k = await kit({ authServer: { entraScopes: true } });
    const without = await open(k, base);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationDenied",
      error: "invalid_request",
    });
    expect(quirkEntries(without.trace)).toEqual([]);

    const { s, trace, urls } = await open(k, withProfile(k, base, "entra-id-v2"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    const sent = new URL(urls[0] ?? "").searchParams;
    expect(sent.has("resource")).toBe(false);
    expect(sent.get("scope")?.split(" ")).toContain(`${k.mcpUrl}/mcp:read`);
    // The lifecycle keeps the scopes it asked for: the granted ones compare like with like.
    expect(s.state().token?.scopes).toContain("mcp:read");
    expect(adjustmentsOf(trace)).toEqual(expect.arrayContaining(["omitResource", "qualifyScopes"]));
    for (const entry of quirkEntries(trace)) expect(entry.reason).toMatch(/^entra-id-v2: /);
  });

  it("Entra ID v2: a refresh names its API's scopes (scope on refresh)", async () => {
    const k = await kit({ authServer: { entraScopes: true } });
    const refreshes = () =>
      k.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token").length;
    // The profile but this one adjustment: the refresh carries no scope, and Entra would answer
    // with a token for another API (the testkit refuses it).
    const without = await open(
      k,
      withProfile(k, base, "entra-id-v2", { adjustments: { scopeOnRefresh: undefined } }),
    );
    expect((await callTool(without.s, k.mcpUrl, "echo", { text: "x" })).status).toBe(200);
    k.expireAccessTokens();
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" }, 2)).rejects.toMatchObject({
      _tag: "TokenRejected",
      code: "invalid_request",
      grantType: "refresh_token",
    });
    expect(adjustmentsOf(without.trace)).not.toContain("scopeOnRefresh");
    expect(refreshes()).toBe(1);

    const { s, trace } = await open(k, withProfile(k, base, "entra-id-v2"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    k.expireAccessTokens();
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" }, 2)).status).toBe(200);
    expect(refreshes()).toBe(2);
    expect(k.user.authorizations).toBe(2); // one per session: the refresh asked nobody
    // The refresh's own entries, last: no resource, the granted scope, qualified with the API.
    expect(adjustmentsOf(trace).slice(-3)).toEqual([
      "omitResource",
      "scopeOnRefresh",
      "qualifyScopes",
    ]);
    expect(quirkEntries(trace).at(-1)?.reason).toContain(`→ ${k.mcpUrl}/mcp:read`);
    expect(s.state().token?.scopes).toContain("mcp:read");
  });

  it("Auth0: the API named as audience", async () => {
    const k = await kit({ authServer: { requireAudience: true } });
    const without = await open(k, base);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationDenied",
      error: "invalid_request",
    });
    const { s, trace, urls } = await open(k, withProfile(k, base, "auth0"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(new URL(urls[0] ?? "").searchParams.get("audience")).toBe(k.mcpUrl);
    expect(adjustmentsOf(trace)).toEqual(["audience"]);
  });

  it("GitHub: a form-encoded token response is read", async () => {
    const k = await kit({
      authServer: { tokenResponseEncoding: "form", advertiseRegistration: false },
    });
    const registered = await preRegister(k);
    const client = {
      ...base,
      preRegistered: [{ issuer: k.issuer, clientId: String(registered.client_id) }],
    };
    const without = await open(k, client);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "UnexpectedContentType",
    });
    const { s, trace } = await open(k, withProfile(k, client, "github"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(adjustmentsOf(trace)).toContain("formEncodedTokenResponse");
  });

  it("Google: offline_access never sent, access_type=offline for a refresh token instead", async () => {
    const k = await kit({
      authServer: {
        rejectScopes: ["offline_access"],
        offlineAccessType: true,
        advertiseRegistration: false,
      },
    });
    const registered = await preRegister(k);
    const client = {
      ...base,
      preRegistered: [{ issuer: k.issuer, clientId: String(registered.client_id) }],
    };
    // Without the profile the lifecycle gets a token in the end, but no refresh token: the user
    // is asked again when it expires.
    const without = await open(k, client);
    expect((await callTool(without.s, k.mcpUrl, "echo", { text: "x" })).status).toBe(200);
    expect(without.s.state().token?.hasRefreshToken).toBe(false);

    const { s, trace, urls } = await open(k, withProfile(k, client, "google"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(s.state().token?.hasRefreshToken).toBe(true);
    expect(urls).toHaveLength(1);
    const sent = new URL(urls[0] ?? "").searchParams;
    expect(sent.get("scope")?.split(" ")).not.toContain("offline_access");
    expect(sent.get("access_type")).toBe("offline");
    expect(adjustmentsOf(trace)).toEqual(
      expect.arrayContaining(["neverSendScopes", "authorizationParams"]),
    );
  });

  it("Okta: no registration attempt at an endpoint that wants an admin token; the console is named", async () => {
    const k = await kit({ authServer: { registrationRequiresToken: true } });
    const without = await open(k, base);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "RegistrationRejected",
      status: 401,
    });
    expect(k.count("registration")).toBe(1);
    k.clearLog();

    const { s } = await open(k, withProfile(k, base, "okta"));
    const error = await callTool(s, k.mcpUrl, "echo", { text: "y" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ _tag: "RegistrationUnavailable", profile: "okta" });
    expect(String((error as Error).message)).toContain("help.okta.com");
    expect(k.count("registration")).toBe(0);
  });

  it("Cloudflare: openid email profile never sent", async () => {
    const k = await kit({ authServer: { rejectScopes: ["openid", "email", "profile"] } });
    const client = { ...base, scopes: ["openid", "email", "profile"] };
    const without = await open(k, client);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationDenied",
      error: "invalid_scope",
    });
    const { s, trace, urls } = await open(k, withProfile(k, client, "cloudflare"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    const scope = new URL(urls[0] ?? "").searchParams.get("scope")?.split(" ") ?? [];
    for (const never of ["openid", "email", "profile"]) expect(scope).not.toContain(never);
    expect(adjustmentsOf(trace)).toEqual(["neverSendScopes"]);
  });

  it("Slack: comma-separated scopes", async () => {
    const k = await kit({ authServer: { scopeDelimiter: ",", advertiseRegistration: false } });
    const registered = await preRegister(k);
    const client = {
      ...base,
      preRegistered: [{ issuer: k.issuer, clientId: String(registered.client_id) }],
    };
    const without = await open(k, client);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationDenied",
      error: "invalid_scope",
    });
    const { s, trace, urls } = await open(k, withProfile(k, client, "slack"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(new URL(urls[0] ?? "").searchParams.get("scope")).toMatch(/^[^ ]+,[^ ]+/);
    expect(adjustmentsOf(trace)).toContain("scopeDelimiter");
  });

  it("HubSpot: the client secret in the form body (client_secret_post)", async () => {
    const k = await kit({
      authServer: {
        advertiseRegistration: false,
        tokenEndpointAuthMethods: ["client_secret_post"],
      },
    });
    const registered = await preRegister(k, { token_endpoint_auth_method: "client_secret_post" });
    // As the console gives it: an id and a secret, no authentication method.
    const client = {
      ...base,
      preRegistered: [
        {
          issuer: k.issuer,
          clientId: String(registered.client_id),
          clientSecret: Redacted.make(String(registered.client_secret)),
        },
      ],
    };
    const without = await open(k, client);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "TokenRejected",
      code: "invalid_client",
    });
    const { s, trace } = await open(k, withProfile(k, client, "hubspot"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(adjustmentsOf(trace)).toContain("clientAuthentication");
    for (const entry of quirkEntries(trace))
      expect(entry.reason).not.toContain(String(registered.client_secret));
  });

  it("a User-Agent filter (WAF): the allowed User-Agent on every request to that server", async () => {
    const k = await kit({ authServer: { requireUserAgent: "ExampleAgent/" } });
    const without = await open(k, base);
    const error = await callTool(without.s, k.mcpUrl, "echo", { text: "x" }).catch((e) => e);
    expect(error).toHaveProperty("_tag");
    expect(k.count("token")).toBe(0);

    const { s, trace } = await open(
      k,
      withProfile(k, base, "waf-user-agent", {
        adjustments: {
          userAgent: { value: "ExampleAgent/2.0", why: "the firewall allows ExampleAgent only" },
        },
      }),
    );
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(adjustmentsOf(trace)).toContain("userAgent");
  });
});

describe("always, without any profile", () => {
  it("an issuer no profile knows gets no adjustment: resource sent, scopes space-separated, no trace entry", async () => {
    const k = await kit({});
    const { s, trace, urls } = await open(k, base);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "plain" })).status).toBe(200);
    const sent = new URL(urls[0] ?? "").searchParams;
    expect(sent.get("resource")).toBe(k.mcpUrl);
    expect(sent.get("scope")).toContain(" ");
    expect(sent.has("audience")).toBe(false);
    expect(quirkEntries(trace)).toEqual([]);
  });

  it("a User-Agent on every metadata, registration and token request; Accept: application/json on token requests", async () => {
    // A firewall that wants authchart's own User-Agent, and a token endpoint that answers
    // form-encoded unless asked for JSON: both pass without any profile.
    const k = await kit({
      authServer: {
        requireUserAgent: "authchart/",
        tokenResponseEncoding: "form-unless-json-accepted",
      },
    });
    const { s, trace } = await open(k, base);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "ua" })).status).toBe(200);
    expect(k.count("registration")).toBe(1);
    expect(k.count("token")).toBe(1);
    expect(quirkEntries(trace)).toEqual([]);
  });

  it("the protected MCP requests carry the User-Agent too (configurable); a caller's own wins", async () => {
    const k = await kit({});
    // The session's transport is observed on its way out (and then really sent).
    const sent: { url: string; agent: string | null }[] = [];
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: base,
      http: { userAgent: "my-agent/2.0" },
      userAgent: (prompt) => k.user.authorize(prompt.url),
      fetch: (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        sent.push({ url, agent: new Headers(init?.headers).get("user-agent") });
        return fetch(input, init);
      },
    });
    sessions.push(s);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "ua" })).status).toBe(200);
    const toMcp = sent.filter((r) => r.url.startsWith(k.mcpUrl));
    expect(toMcp.length).toBe(2); // the 401, then the call with the token
    expect(toMcp.map((r) => r.agent)).toEqual(["my-agent/2.0", "my-agent/2.0"]);
    const own = await s.fetch(k.mcpUrl, { method: "GET", headers: { "user-agent": "caller/1" } });
    await own.body?.cancel();
    expect(sent.at(-1)?.agent).toBe("caller/1");
  });

  it("no dynamic registration and no client: the error names the server and how to give a client", async () => {
    const k = await kit({ authServer: { advertiseRegistration: false } });
    const { s } = await open(k, base);
    const error = (await callTool(s, k.mcpUrl, "echo", { text: "x" }).catch((e) => e)) as Error;
    expect(error).toMatchObject({ _tag: "RegistrationUnavailable", issuer: k.issuer });
    expect(error.message).toContain(k.issuer);
    expect(error.message).toContain("pre-registered client");
    expect(error.message).toContain("preRegistered: [{ issuer:");

    const { s: google } = await open(k, withProfile(k, base, "google"));
    const named = (await callTool(google, k.mcpUrl, "echo", { text: "x" }).catch(
      (e) => e,
    )) as Error;
    expect(named.message).toContain("https://console.cloud.google.com/apis/credentials");
  });
});
