/**
 * Quirk profiles (packages/core/src/quirks/) on the grants without an authorization request:
 * client credentials and the device authorization grant, against testkit's oidc-provider made to
 * behave like the profile's server by one knob. Each session runs twice — without the profile
 * (the testkit's issuer matches no built-in pattern) it fails with the server's own refusal, with
 * the profile chosen for that issuer it succeeds, and each adjustment is a `quirk` trace entry
 * naming the profile. An issuer no profile knows gets no adjustment on these grants either.
 */
import {
  type ClientSettings,
  createSession,
  type SessionOptions,
  type TraceEntry,
} from "@authchart/core";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { Redacted } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, redirectUri } from "./support.js";

const DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const base = { clientName: "authchart e2e", redirectUris: [redirectUri] as [string] };

const kit = async (options: TestkitOptions) => {
  const k = await startTestkit(options);
  closers.push(() => k.close());
  return k;
};

const open = async (k: Testkit, client: ClientSettings, extra: Partial<SessionOptions> = {}) => {
  const s = await createSession({ serverUrl: k.mcpUrl, client, ...extra });
  closers.push(() => s.close());
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { s, trace };
};

/** `client` with `profile` chosen for the testkit's issuer. */
const withProfile = (k: Testkit, client: ClientSettings, profile: string): ClientSettings => ({
  ...client,
  quirks: { servers: [{ issuer: k.issuer, profile }] },
});

const quirkEntries = (trace: readonly TraceEntry[]) => trace.filter((t) => t.decision === "quirk");
const adjustmentsOf = (trace: readonly TraceEntry[]) =>
  quirkEntries(trace).map((t) => t.details?.adjustment);
const tokenRequests = (k: Testkit, grantType: string) =>
  k.requests.filter((r) => r.kind === "token" && r.grantType === grantType).length;

/** A confidential client registered for client credentials, configured as a console gives it. */
const clientCredentialsClient = async (k: Testkit): Promise<ClientSettings> => {
  const registered = await k.registerClient({
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
  });
  k.clearLog();
  return {
    ...base,
    grant: { type: "client_credentials" },
    preRegistered: [
      {
        issuer: k.issuer,
        clientId: String(registered.client_id),
        clientSecret: Redacted.make(String(registered.client_secret)),
      },
    ],
  };
};

/** A device grant session: the user enters the code elsewhere while the session polls. */
const deviceSession = (k: Testkit, client: ClientSettings) =>
  open(
    k,
    { ...client, grant: { type: "device_code" } },
    {
      deviceCodePresenter: async (prompt) => {
        setTimeout(() => void k.user.enterUserCode(prompt.verificationUri, prompt.userCode), 50);
      },
    },
  );

describe("client credentials (RFC 6749 §4.4)", () => {
  it("Auth0: the API named as audience on the token request", async () => {
    const k = await kit({ authServer: { clientCredentials: true, requireAudience: true } });
    const client = await clientCredentialsClient(k);

    const without = await open(k, client);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "TokenRejected",
      code: "access_denied",
    });
    expect(quirkEntries(without.trace)).toEqual([]);

    const { s, trace } = await open(k, withProfile(k, client, "auth0"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(adjustmentsOf(trace)).toEqual(["audience"]);
    expect(quirkEntries(trace)[0]?.reason).toBe(
      `auth0: audience=${k.mcpUrl} (Auth0 ignores resource and issues a token for an API only when the request names it as audience)`,
    );
  });

  it("Entra ID v2: {api}/.default as the only scope, no resource parameter", async () => {
    const k = await kit({ authServer: { clientCredentials: true, entraScopes: true } });
    const client = await clientCredentialsClient(k);

    const without = await open(k, client);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "TokenRejected",
      code: "invalid_request",
    });
    expect(quirkEntries(without.trace)).toEqual([]);

    const { s, trace } = await open(k, withProfile(k, client, "entra-id-v2"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(adjustmentsOf(trace)).toEqual(["qualifyScopes", "omitResource"]);
    expect(quirkEntries(trace)[0]?.reason).toContain(`→ ${k.mcpUrl}/.default (`);
    // The lifecycle keeps the scopes as the server granted them, bare: nothing of `.default`.
    expect(s.state().token?.scopes).toContain("mcp:read");
    expect(s.state().token?.scopes.join(" ")).not.toContain(".default");
  });

  it("Entra ID v2 with only its scope rule: the resource parameter alone still fails", async () => {
    // The two adjustments are each needed: `.default` without omitting resource is refused.
    const k = await kit({ authServer: { clientCredentials: true, entraScopes: true } });
    const client = await clientCredentialsClient(k);
    const { s } = await open(k, {
      ...client,
      quirks: {
        servers: [
          { issuer: k.issuer, profile: "entra-id-v2", adjustments: { omitResource: undefined } },
        ],
      },
    });
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "TokenRejected",
      code: "invalid_request",
    });
  });
});

describe("the device authorization grant (RFC 8628)", () => {
  it("Auth0: the API named as audience on the device authorization request", async () => {
    const k = await kit({ authServer: { deviceFlow: { interval: 1 }, requireAudience: true } });

    const without = await deviceSession(k, base);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "DeviceAuthorizationRejected",
      code: "invalid_request",
    });
    expect(quirkEntries(without.trace)).toEqual([]);

    const { s, trace } = await deviceSession(k, withProfile(k, base, "auth0"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    expect(tokenRequests(k, DEVICE_CODE)).toBeGreaterThanOrEqual(1);
    // The device authorization request: audience; the polls carry no adjustment of Auth0's.
    expect(adjustmentsOf(trace)).toEqual(["audience"]);
  });

  it("Entra ID v2: no resource on the device request nor on the polls, scopes qualified", async () => {
    const k = await kit({ authServer: { deviceFlow: { interval: 1 }, entraScopes: true } });

    const without = await deviceSession(k, base);
    await expect(callTool(without.s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "DeviceAuthorizationRejected",
      code: "invalid_request",
    });

    const { s, trace } = await deviceSession(k, withProfile(k, base, "entra-id-v2"));
    expect((await callTool(s, k.mcpUrl, "echo", { text: "y" })).status).toBe(200);
    // The device authorization request, then the token request that got the token.
    expect(adjustmentsOf(trace)).toEqual(["qualifyScopes", "omitResource", "omitResource"]);
    for (const entry of quirkEntries(trace)) expect(entry.reason).toMatch(/^entra-id-v2: /);
    expect(s.state().token?.scopes).toContain("mcp:read");
  });
});

describe("an issuer no profile knows", () => {
  it("client credentials and the device grant get no adjustment: no quirk entry, resource sent", async () => {
    // The Entra-like token endpoint refuses `resource`: a client credentials request that still
    // gets through would have been adjusted. Here it must be refused, with no quirk entry.
    const entraLike = await kit({ authServer: { clientCredentials: true, entraScopes: true } });
    const unadjusted = await open(entraLike, await clientCredentialsClient(entraLike));
    await expect(
      callTool(unadjusted.s, entraLike.mcpUrl, "echo", { text: "x" }),
    ).rejects.toMatchObject({ _tag: "TokenRejected", code: "invalid_request" });
    expect(quirkEntries(unadjusted.trace)).toEqual([]);

    const k = await kit({ authServer: { clientCredentials: true, deviceFlow: { interval: 1 } } });
    const service = await open(k, await clientCredentialsClient(k));
    expect((await callTool(service.s, k.mcpUrl, "echo", { text: "svc" })).status).toBe(200);
    expect(quirkEntries(service.trace)).toEqual([]);

    const device = await deviceSession(k, base);
    expect((await callTool(device.s, k.mcpUrl, "echo", { text: "tv" })).status).toBe(200);
    expect(quirkEntries(device.trace)).toEqual([]);
  });
});
