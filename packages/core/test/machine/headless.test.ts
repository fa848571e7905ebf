/**
 * A user agent without a browser here (headless: SSH, a container) under the authorization code
 * (issue 8): when the authorization server offers the device authorization grant (RFC 8628 §4
 * metadata), the flow takes its user-code steps instead of the browser step — a named decision in
 * the trace — with a client registered for both grants; when it does not, the browser step runs
 * (paste mode), and the trace says why. Driven through the real machine with scripted steps.
 */
import { Redacted } from "effect";
import { describe, expect, it } from "vitest";
import { userStepVerdict } from "../../src/machine/decisions.js";
import type { AuthConfig, AuthServerInfo } from "../../src/machine/model.js";
import { DEVICE_CODE_GRANT, offersDeviceGrant } from "../../src/steps/device-authorization.js";
import {
  authServerInfo,
  clientInfo,
  type Driven,
  drive,
  FAR_FUTURE,
  grantFor,
  ISSUER,
  input,
  insufficientScope403,
  resourceInfo,
  tokenInfo,
  unauthorized401,
} from "./scripted.js";

const headless = { preferDeviceFlow: true } as const;

/** Metadata that offers the device grant (or not), as RFC 8628 §4 and RFC 8414 §2 describe. */
const withDevice = (
  extra: { readonly grant_types_supported?: readonly string[] } = {},
): AuthServerInfo => {
  const info = authServerInfo(undefined, ["read", "write"]);
  return {
    ...info,
    metadata: {
      ...info.metadata,
      device_authorization_endpoint: `${ISSUER}/device/auth`,
      ...extra,
    },
  };
};

const pending = { deviceCode: Redacted.make("dc"), expiresAt: FAR_FUTURE, intervalSeconds: 5 };
const decisions = (d: Driven) => d.traces().map((t) => t.decision);

const firstRequest = async (config: Partial<AuthConfig>, authServer: AuthServerInfo) => {
  const d = drive(input(config));
  d.send(unauthorized401(undefined, "first"));
  await d.resolve("discoverResource", resourceInfo(["read", "write"]));
  await d.resolve("discoverAuthServer", authServer);
  return d;
};

describe("a headless user agent, and a server that offers the device grant", () => {
  it("takes the user-code steps instead of the browser step; the client is registered for both grants", async () => {
    const d = await firstRequest(headless, withDevice());
    expect(d.at()).toBe("obtaining.registeringForDevice");
    expect(d.running("register").input.grantTypes).toEqual([
      "authorization_code",
      "refresh_token",
      DEVICE_CODE_GRANT,
    ]);
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.at()).toBe("obtaining.requestingUserCode");
    expect(d.running("requestDeviceCode").input.scopes).toEqual(
      d.context().scopes?.requested ?? [],
    );
    await d.resolve("requestDeviceCode", pending);
    expect(d.at()).toBe("obtaining.awaitingUser");
    await d.resolve("pollDeviceToken", tokenInfo({ scopes: ["read", "write"] }));
    expect(d.value()).toBe("authorized");
    expect(d.script.callsOf("authorize")).toHaveLength(0);
    // Named in the trace, with the server that offered it; counted by the loop guard.
    const entry = d.traces().find((t) => t.decision === "device flow");
    expect(entry?.reason).toContain("RFC 8628");
    expect(entry?.details).toMatchObject({
      device_authorization_endpoint: `${ISSUER}/device/auth`,
    });
    expect(decisions(d)).toEqual([
      "discover",
      "grant",
      "resource metadata",
      "scopes",
      "device flow",
      "client",
      "authorize",
      "user code",
      "token",
    ]);
    expect(d.context().authorizations.size).toBe(1);
  });

  it("a server that lists its grants without the device code does not offer it: the browser step, said in the trace", async () => {
    const d = await firstRequest(
      headless,
      withDevice({ grant_types_supported: ["authorization_code", "refresh_token"] }),
    );
    expect(d.at()).toBe("obtaining.registering");
    expect(d.running("register").input.grantTypes).toBeUndefined();
    expect(d.traces().find((t) => t.decision === "browser step")?.reason).toContain(
      "no device authorization grant",
    );
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.at()).toBe("obtaining.authorizing");
  });

  it("a step-up on known metadata takes the user code too", async () => {
    const d = drive(
      input(
        { ...headless, offlineAccess: false },
        {
          resource: resourceInfo(["read", "write"]),
          authServer: withDevice({ grant_types_supported: [DEVICE_CODE_GRANT] }),
          client: clientInfo("dynamic"),
          token: tokenInfo({ scopes: ["read"] }),
        },
      ),
    );
    d.send(insufficientScope403(["write"], 1, "needs-write"));
    expect(d.at()).toBe("obtaining.registeringForDevice");
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.running("requestDeviceCode").input.scopes).toEqual(["read", "write"]);
    expect(decisions(d)).toContain("device flow");
  });

  it("a background session fails with InteractionRequired first: no user code either", async () => {
    const d = await firstRequest({ ...headless, interaction: "never" }, withDevice());
    await d.resolve("findStoredToken", undefined);
    expect(d.context().error?._tag).toBe("InteractionRequired");
    expect(decisions(d)).not.toContain("device flow");
    expect(d.script.callsOf("register")).toHaveLength(0);
  });
});

describe("otherwise, the browser step as before", () => {
  it("a user agent with a browser uses it although the server offers the device grant; no trace of the choice", async () => {
    const d = await firstRequest({}, withDevice());
    expect(d.at()).toBe("obtaining.registering");
    await d.resolve("register", clientInfo("dynamic"));
    await d.resolve("authorize", grantFor(d.running("authorize").input.scopes));
    await d.resolve("exchangeCode", tokenInfo());
    expect(d.value()).toBe("authorized");
    expect(decisions(d)).not.toContain("device flow");
    expect(decisions(d)).not.toContain("browser step");
  });

  it("a headless user agent at a server without a device authorization endpoint: paste mode, said in the trace", async () => {
    const d = await firstRequest(headless, authServerInfo(undefined, ["read", "write"]));
    expect(d.at()).toBe("obtaining.registering");
    expect(decisions(d)).toContain("browser step");
  });
});

describe("the decision itself", () => {
  it("offersDeviceGrant: the endpoint, and the device code among the grants when they are listed", () => {
    const endpoint = { device_authorization_endpoint: "https://as.example/device" };
    expect(offersDeviceGrant({})).toBe(false);
    expect(offersDeviceGrant(endpoint)).toBe(true);
    expect(offersDeviceGrant({ ...endpoint, grant_types_supported: [DEVICE_CODE_GRANT] })).toBe(
      true,
    );
    expect(offersDeviceGrant({ ...endpoint, grant_types_supported: ["authorization_code"] })).toBe(
      false,
    );
    expect(offersDeviceGrant({ grant_types_supported: [DEVICE_CODE_GRANT] })).toBe(false);
  });

  it("userStepVerdict: one verdict per case", () => {
    const offered = withDevice();
    const plain = authServerInfo();
    expect(userStepVerdict({ config: { preferDeviceFlow: false }, authServer: offered })).toBe(
      "browser",
    );
    expect(userStepVerdict({ config: { preferDeviceFlow: true }, authServer: offered })).toBe(
      "device",
    );
    expect(userStepVerdict({ config: { preferDeviceFlow: true }, authServer: plain })).toBe(
      "browser without a display",
    );
    expect(userStepVerdict({ config: { preferDeviceFlow: true } })).toBe(
      "browser without a display",
    );
  });
});
