/** The device authorization grant (RFC 8628): pure processing, polling under TestClock, a real AS. */

import { startTestkit, type Testkit } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Clock, Effect, Fiber, Layer, Option, Redacted, TestClock } from "effect";
import { afterAll, beforeAll, vi } from "vitest";
import type { ClientRegistration } from "../../src/schema/credentials.js";
import { CredentialStore } from "../../src/services/credential-store.js";
import {
  DeviceCodePresenter,
  type DeviceCodePrompt,
  formatDeviceCodePrompt,
} from "../../src/services/device-code-presenter.js";
import {
  defaultHttpPolicy,
  OAuthHttp,
  type OAuthRequest,
  type OAuthResponse,
} from "../../src/services/http.js";
import {
  DEVICE_CODE_GRANT,
  deviceAuthorization,
  deviceAuthorizationParams,
  nextPollInterval,
  pollIntervalSeconds,
  processDeviceAuthorizationResponse,
  processDeviceTokenResponse,
} from "../../src/steps/device-authorization.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import { asMetadata, failureOf, stepLayer } from "../support.js";
import { answer, jwtPayload, resourceStatus } from "./grant-helpers.js";

const AS = "https://as.example";
const DEVICE_ENDPOINT = `${AS}/device/auth`;
const resource = "https://mcp.example/mcp";
const strict = { allowInsecureLoopback: false };

const deviceAnswer = (overrides: Record<string, unknown> = {}) =>
  answer(
    200,
    {
      device_code: "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
      user_code: "WDJB-MJHT",
      verification_uri: `${AS}/device`,
      verification_uri_complete: `${AS}/device?user_code=WDJB-MJHT`,
      expires_in: 1800,
      ...overrides,
    },
    DEVICE_ENDPOINT,
  );

describe("the device authorization request and response (pure)", () => {
  it("RFC 8628 §3.1: scope and the resource indicator; client_id comes from client auth", () => {
    expect(Object.fromEntries(deviceAuthorizationParams({ resource, scopes: ["a", "b"] }))).toEqual(
      { scope: "a b", resource },
    );
    expect(deviceAuthorizationParams({ resource }).has("scope")).toBe(false);
  });

  it.effect("RFC 8628 §3.2: decoded with the default interval of 5 s and a deadline", () =>
    Effect.gen(function* () {
      const authorization = yield* processDeviceAuthorizationResponse(deviceAnswer(), {
        now: 1_000,
        policy: strict,
      });
      expect(authorization).toMatchObject({
        userCode: "WDJB-MJHT",
        verificationUri: `${AS}/device`,
        verificationUriComplete: `${AS}/device?user_code=WDJB-MJHT`,
        expiresAt: 1_000 + 1_800_000,
        intervalSeconds: 5,
      });
      expect(Redacted.isRedacted(authorization.deviceCode)).toBe(true);
      expect(String(authorization.deviceCode)).not.toContain("GmRhmhc");
      const long = yield* processDeviceAuthorizationResponse(
        deviceAnswer({ expires_in: 1e12, interval: 0.2 }),
        { now: 0, policy: strict },
      );
      expect(long.expiresAt).toBe(3_600_000);
      expect(long.intervalSeconds).toBe(1);
    }),
  );

  it("interval: absent -> 5; below one -> 1; fractions round up; slow_down adds 5", () => {
    expect(pollIntervalSeconds(undefined)).toBe(5);
    expect(pollIntervalSeconds(0)).toBe(1);
    expect(pollIntervalSeconds(-3)).toBe(1);
    expect(pollIntervalSeconds(2.5)).toBe(3);
    expect(nextPollInterval(5, { _tag: "SlowDown" })).toBe(10);
    expect(nextPollInterval(5, { _tag: "Pending" })).toBe(5);
  });

  it.effect(
    "hostile answers are typed: control characters, javascript: URIs, missing members",
    () =>
      Effect.gen(function* () {
        const cases = [
          deviceAnswer({ user_code: "AB\u001b[2JCD" }),
          deviceAnswer({ user_code: "" }),
          deviceAnswer({ verification_uri: "javascript:alert(1)" }),
          deviceAnswer({ verification_uri: `${AS}/device\u001b[2J` }),
          deviceAnswer({ verification_uri: `${AS}/device\nOr call +1 555 0100` }),
          deviceAnswer({ verification_uri: "http://as.example/device" }),
          deviceAnswer({ verification_uri_complete: "https://user:pw@as.example/device" }),
          deviceAnswer({ expires_in: undefined }),
          deviceAnswer({ expires_in: 0 }),
          deviceAnswer({ device_code: undefined }),
        ];
        for (const response of cases) {
          const error = yield* failureOf(
            processDeviceAuthorizationResponse(response, { now: 0, policy: strict }),
          );
          expect(error).toMatchObject({
            _tag: "InvalidDocument",
            document: "device authorization response",
          });
          expect(error.message).not.toContain("GmRhmhc");
        }
        // Plain http on loopback only with the development policy.
        const local = deviceAnswer({ verification_uri: "http://127.0.0.1:9/device" });
        yield* processDeviceAuthorizationResponse(local, {
          now: 0,
          policy: { allowInsecureLoopback: true },
        });
        const rejected = yield* failureOf(
          processDeviceAuthorizationResponse(
            answer(400, { error: "invalid_scope" }, DEVICE_ENDPOINT),
            { now: 0, policy: strict },
          ),
        );
        expect(rejected).toMatchObject({
          _tag: "DeviceAuthorizationRejected",
          code: "invalid_scope",
        });
        const broken = yield* failureOf(
          processDeviceAuthorizationResponse(answer(502, {}, DEVICE_ENDPOINT), {
            now: 0,
            policy: strict,
          }),
        );
        expect(broken).toMatchObject({ _tag: "UnexpectedStatus", status: 502 });
      }),
  );

  it.effect("RFC 8628 §3.5: what each token endpoint answer means", () =>
    Effect.gen(function* () {
      expect(
        yield* processDeviceTokenResponse(answer(400, { error: "authorization_pending" }), 0),
      ).toEqual({ _tag: "Pending" });
      expect(yield* processDeviceTokenResponse(answer(400, { error: "slow_down" }), 0)).toEqual({
        _tag: "SlowDown",
      });
      const granted = yield* processDeviceTokenResponse(
        answer(200, { access_token: "at", token_type: "Bearer" }),
        0,
      );
      expect(granted._tag).toBe("Granted");
      expect(
        yield* failureOf(processDeviceTokenResponse(answer(400, { error: "access_denied" }), 0)),
      ).toMatchObject({ _tag: "DeviceAuthorizationDenied" });
      expect(
        yield* failureOf(processDeviceTokenResponse(answer(400, { error: "expired_token" }), 7)),
      ).toMatchObject({ _tag: "DeviceCodeExpired", reportedBy: "server", expiresAt: 7 });
      expect(
        yield* failureOf(processDeviceTokenResponse(answer(400, { error: "invalid_client" }), 0)),
      ).toMatchObject({
        _tag: "TokenRejected",
        code: "invalid_client",
        grantType: DEVICE_CODE_GRANT,
      });
    }),
  );

  it.effect("the default layer prints the prompt to stderr", () =>
    Effect.gen(function* () {
      const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
      try {
        const presenter = yield* DeviceCodePresenter;
        yield* presenter.present({
          userCode: "WDJB-MJHT",
          verificationUri: `${AS}/device`,
          verificationUriComplete: `${AS}/device?user_code=WDJB-MJHT`,
          expiresAt: 0,
        });
        expect(spy).toHaveBeenCalledWith(
          `To sign in, open ${AS}/device and enter the code WDJB-MJHT\n(or open ${AS}/device?user_code=WDJB-MJHT)`,
        );
      } finally {
        spy.mockRestore();
      }
    }).pipe(Effect.provide(DeviceCodePresenter.layer)),
  );

  it("the default presenter's text names the URI and the code", () => {
    const prompt: DeviceCodePrompt = {
      userCode: "WDJB-MJHT",
      verificationUri: `${AS}/device`,
      expiresAt: 0,
    };
    expect(formatDeviceCodePrompt(prompt)).toBe(
      `To sign in, open ${AS}/device and enter the code WDJB-MJHT`,
    );
  });
});

describe("polling under TestClock (scripted HTTP)", () => {
  interface Sent {
    readonly at: number;
    readonly url: string;
    readonly body: URLSearchParams;
  }

  /** OAuthHttp answering the device authorization request, then each poll in turn. */
  const scripted = (device: OAuthResponse, polls: readonly OAuthResponse[], sent: Sent[]) => {
    const queue = [...polls];
    return Layer.succeed(OAuthHttp, {
      policy: defaultHttpPolicy,
      send: (request: OAuthRequest) =>
        Effect.gen(function* () {
          const body = request.body?._tag === "form" ? request.body.params : new URLSearchParams();
          sent.push({ at: yield* Clock.currentTimeMillis, url: request.url, body });
          if (request.url === DEVICE_ENDPOINT) return device;
          return queue.shift() ?? answer(400, { error: "authorization_pending" });
        }),
    });
  };

  const prompts: DeviceCodePrompt[] = [];
  const layers = (device: OAuthResponse, polls: readonly OAuthResponse[], sent: Sent[]) =>
    Layer.mergeAll(
      scripted(device, polls, sent),
      CredentialStore.layerMemory,
      Layer.succeed(DeviceCodePresenter, {
        present: (prompt) => Effect.sync(() => void prompts.push(prompt)),
      }),
    );

  const client: ClientRegistration = {
    issuer: AS,
    kind: "pre-registered",
    clientId: "tv",
    redirectUris: [],
    registeredAt: 0,
  };
  const input = {
    issuer: AS,
    metadata: { ...asMetadata(AS), device_authorization_endpoint: DEVICE_ENDPOINT },
    client,
    resource,
    scopes: ["mcp:read"],
  };
  const pending = answer(400, { error: "authorization_pending" });

  it.effect("every interval, +5 s after slow_down, until granted; saved like every grant", () => {
    const sent: Sent[] = [];
    return Effect.gen(function* () {
      const fiber = yield* Effect.fork(deviceAuthorization(input));
      yield* TestClock.adjust("1 minute");
      const tokens = yield* Fiber.join(fiber);
      expect(sent.map((s) => s.at)).toEqual([0, 5_000, 10_000, 20_000, 30_000]);
      expect(Object.fromEntries(sent[0]?.body ?? [])).toEqual({
        scope: "mcp:read",
        resource,
        client_id: "tv",
      });
      expect(Object.fromEntries(sent[1]?.body ?? [])).toEqual({
        grant_type: DEVICE_CODE_GRANT,
        device_code: "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
        resource,
        client_id: "tv",
      });
      expect(prompts.at(-1)).toMatchObject({
        userCode: "WDJB-MJHT",
        verificationUri: `${AS}/device`,
        expiresAt: 1_800_000,
      });
      expect(tokens).toMatchObject({
        key: { resource, issuer: AS, clientId: "tv" },
        scopes: ["mcp:read"],
      });
      const stored = yield* (yield* CredentialStore).loadTokens(tokens.key);
      expect(Option.map(stored, (t) => t.version)).toEqual(Option.some(tokens.version));
    }).pipe(
      Effect.provide(
        layers(
          deviceAnswer(),
          [
            pending,
            answer(400, { error: "slow_down" }),
            pending,
            answer(200, { access_token: "at", token_type: "Bearer", scope: "mcp:read" }),
          ],
          sent,
        ),
      ),
    );
  });

  it.effect(
    "the code's own expires_in ends polling: DeviceCodeExpired(client), no late poll",
    () => {
      const sent: Sent[] = [];
      return Effect.gen(function* () {
        const fiber = yield* Effect.fork(deviceAuthorization(input));
        yield* TestClock.adjust("1 minute");
        const error = yield* failureOf(Fiber.join(fiber));
        expect(error).toMatchObject({
          _tag: "DeviceCodeExpired",
          reportedBy: "client",
          expiresAt: 12_000,
        });
        // Polls at 5 s and 10 s; the deadline (12 s) comes before the next one.
        expect(sent.map((s) => s.at)).toEqual([0, 5_000, 10_000]);
      }).pipe(Effect.provide(layers(deviceAnswer({ expires_in: 12, interval: 5 }), [], sent)));
    },
  );

  it.effect("access_denied and expired_token end the grant with their own errors", () =>
    Effect.gen(function* () {
      for (const [code, tag] of [
        ["access_denied", "DeviceAuthorizationDenied"],
        ["expired_token", "DeviceCodeExpired"],
      ] as const) {
        const sent: Sent[] = [];
        const fiber = yield* Effect.fork(
          deviceAuthorization(input).pipe(
            Effect.provide(layers(deviceAnswer(), [pending, answer(400, { error: code })], sent)),
          ),
        );
        yield* TestClock.adjust("1 minute");
        expect(yield* failureOf(Fiber.join(fiber))).toMatchObject({ _tag: tag });
        expect(sent).toHaveLength(3);
      }
    }),
  );

  it.effect(
    "no device_authorization_endpoint: DeviceAuthorizationUnsupported, nothing sent",
    () => {
      const sent: Sent[] = [];
      return Effect.gen(function* () {
        const error = yield* failureOf(deviceAuthorization({ ...input, metadata: asMetadata(AS) }));
        expect(error).toMatchObject({ _tag: "DeviceAuthorizationUnsupported", issuer: AS });
        expect(sent).toHaveLength(0);
      }).pipe(Effect.provide(layers(deviceAnswer(), [], sent)));
    },
  );

  it.effect("a presenter that fails ends the grant before any poll", () => {
    const sent: Sent[] = [];
    return Effect.gen(function* () {
      const error = yield* failureOf(deviceAuthorization(input));
      expect(error).toMatchObject({ _tag: "UserAgentFailed" });
      expect(sent).toHaveLength(1);
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          scripted(deviceAnswer(), [], sent),
          CredentialStore.layerMemory,
          DeviceCodePresenter.fromPromise(async () => {
            throw new Error("no display");
          }),
        ),
      ),
    );
  });
});

describe("against the real authorization server", () => {
  let kit: Testkit;
  beforeAll(async () => {
    // interval 1: the live tests poll every second instead of every five.
    kit = await startTestkit({ authServer: { deviceFlow: { interval: 1 } } });
  });
  afterAll(() => kit.close());

  const setup = Effect.gen(function* () {
    const as = yield* discoverAuthServer(kit.issuer);
    const registered = yield* Effect.promise(() =>
      kit.registerClient({
        grant_types: [DEVICE_CODE_GRANT, "refresh_token"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "none",
      }),
    );
    const client: ClientRegistration = {
      issuer: as.issuer,
      kind: "pre-registered",
      clientId: String(registered.client_id),
      tokenEndpointAuthMethod: "none",
      redirectUris: [],
      registeredAt: 0,
    };
    return { issuer: as.issuer, metadata: as.metadata, client, resource: kit.mcpUrl };
  });

  /** The user enters the code on another device, `delayMs` after it was shown. */
  const userEntersCode = (delayMs: number) =>
    DeviceCodePresenter.fromPromise(async (prompt) => {
      const enter = () =>
        kit.user.enterUserCode(prompt.verificationUri, prompt.userCode).catch((error: unknown) => {
          console.error("[device test] the headless user failed", error);
        });
      if (delayMs === 0) await enter();
      else setTimeout(enter, delayMs);
    });

  it.live("the user approves after the first poll: pending, then a token for the MCP server", () =>
    Effect.gen(function* () {
      const context = yield* setup;
      kit.user.policy = { grant: "all" };
      kit.clearLog();
      const tokens = yield* deviceAuthorization({ ...context, scopes: ["mcp:read"] }).pipe(
        Effect.provide(userEntersCode(1_500)),
      );
      expect(tokens).toMatchObject({
        key: { resource: kit.mcpUrl, issuer: kit.issuer, clientId: context.client.clientId },
        scopes: ["mcp:read"],
      });
      expect(tokens.refreshToken).toBeDefined();
      expect(jwtPayload(tokens.accessToken)).toMatchObject({ aud: kit.mcpUrl, scope: "mcp:read" });
      expect(yield* resourceStatus(kit.mcpUrl, tokens.accessToken)).not.toBe(401);
      expect(kit.count("device-authorization")).toBe(1);
      // At least one authorization_pending answer before the grant.
      expect(kit.count("token", { grantType: DEVICE_CODE_GRANT })).toBeGreaterThanOrEqual(2);
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("a user who declines a scope: the token carries the rest", () =>
    Effect.gen(function* () {
      const context = yield* setup;
      kit.user.policy = { grant: "all-but", decline: ["mcp:write"] };
      const tokens = yield* deviceAuthorization({
        ...context,
        scopes: ["mcp:read", "mcp:write"],
      }).pipe(Effect.provide(userEntersCode(0)));
      expect(tokens.scopes).toEqual(["mcp:read"]);
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("a user who aborts: DeviceAuthorizationDenied", () =>
    Effect.gen(function* () {
      const context = yield* setup;
      kit.user.policy = { grant: "deny" };
      const error = yield* failureOf(
        deviceAuthorization(context).pipe(Effect.provide(userEntersCode(0))),
      );
      expect(error).toMatchObject({ _tag: "DeviceAuthorizationDenied" });
      kit.user.policy = { grant: "all" };
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("an unknown resource is refused at the device authorization endpoint", () =>
    Effect.gen(function* () {
      const context = yield* setup;
      const error = yield* failureOf(
        deviceAuthorization({ ...context, resource: `${kit.mcpUrl}/other` }).pipe(
          Effect.provide(userEntersCode(0)),
        ),
      );
      expect(error).toMatchObject({ _tag: "DeviceAuthorizationRejected", code: "invalid_target" });
    }).pipe(Effect.provide(stepLayer())),
  );
});
