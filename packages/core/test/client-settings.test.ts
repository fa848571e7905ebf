/** What each grant needs before a session is created (client-settings.ts). */
import { Redacted } from "effect";
import { describe, expect, it } from "vitest";
import { type ClientSettings, grantConfigurationProblem } from "../src/client-settings.js";

const base: ClientSettings = { clientName: "t", redirectUris: ["http://127.0.0.1:1/cb"] };
const issuer = "https://as.example";
const withSecret = [{ issuer, clientId: "c", clientSecret: Redacted.make("s") }];

describe("grantConfigurationProblem", () => {
  it("the authorization code and the device code need nothing more", () => {
    expect(grantConfigurationProblem(base)).toBeUndefined();
    expect(grantConfigurationProblem({ ...base, grant: { type: "device_code" } })).toBeUndefined();
  });

  it("client_credentials needs a confidential pre-registered client", () => {
    const grant = { type: "client_credentials" } as const;
    expect(grantConfigurationProblem({ ...base, grant })).toContain("secret or a signing key");
    expect(
      grantConfigurationProblem({ ...base, grant, preRegistered: [{ issuer, clientId: "c" }] }),
    ).toContain("secret or a signing key");
    expect(
      grantConfigurationProblem({ ...base, grant, preRegistered: withSecret }),
    ).toBeUndefined();
  });

  it("jwt_bearer needs a client id and an assertion function", () => {
    expect(
      grantConfigurationProblem({ ...base, grant: { type: "jwt_bearer", assertion: () => "j" } }),
    ).toContain("preRegistered");
    expect(
      grantConfigurationProblem({
        ...base,
        preRegistered: [{ issuer, clientId: "c" }],
        grant: { type: "jwt_bearer", assertion: "not a function" as never },
      }),
    ).toContain("assertion function");
  });

  it("cross_app_access needs the identity provider and an ID token function", () => {
    const grant = {
      type: "cross_app_access",
      identityProvider: { issuer: "https://idp.example", clientId: "idp-client" },
      idToken: () => "t",
    } as const;
    expect(
      grantConfigurationProblem({ ...base, preRegistered: withSecret, grant }),
    ).toBeUndefined();
    expect(
      grantConfigurationProblem({
        ...base,
        preRegistered: withSecret,
        grant: { ...grant, identityProvider: { issuer: "", clientId: "x" } },
      }),
    ).toContain("identity provider");
  });

  it("a grant without a user needs the issuer of every pre-registered client (no server picks it)", () => {
    for (const grant of [
      { type: "client_credentials" } as const,
      { type: "jwt_bearer", assertion: () => "j" } as const,
    ]) {
      expect(
        grantConfigurationProblem({
          ...base,
          grant,
          preRegistered: [{ clientId: "c", clientSecret: Redacted.make("s") }],
        }),
      ).toContain("needs the issuer");
    }
    // the authorization code shows the user where the credentials go: issuer-less is allowed
    expect(
      grantConfigurationProblem({ ...base, preRegistered: [{ clientId: "c" }] }),
    ).toBeUndefined();
  });

  it("an unknown grant is named, clipped", () => {
    const problem = grantConfigurationProblem({
      ...base,
      grant: { type: `magic${"x".repeat(500)}` } as never,
    });
    expect(problem).toMatch(/^unknown grant "magic/);
    expect(problem?.length).toBeLessThan(80);
  });
});
