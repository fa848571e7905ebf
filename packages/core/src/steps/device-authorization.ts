/**
 * The device authorization grant (RFC 8628) for users without a browser on this machine:
 * 1. a device authorization request (§3.1) with `scope` and the MCP server as `resource`
 *    (RFC 8707 §2), authenticated like a token request (§3.1 defers to RFC 6749 §2.3);
 * 2. the user code and verification URI go to the user through the DeviceCodePresenter (§3.3);
 * 3. the token endpoint is polled with the device code (§3.4) every `interval` seconds (default
 *    5), five seconds more after each `slow_down`, while it answers `authorization_pending`
 *    (§3.5); `access_denied` ends in DeviceAuthorizationDenied, `expired_token` — or the code's own
 *    `expires_in` running out — in DeviceCodeExpired.
 * Waiting uses Effect's Clock, so tests run the whole schedule under TestClock. The device code is
 * a secret (Redacted); the user code is for display and is checked to be displayable.
 */
import { Clock, Duration, Effect, Option, Redacted } from "effect";
import {
  DeviceAuthorizationDenied,
  DeviceAuthorizationRejected,
  DeviceAuthorizationUnsupported,
  DeviceCodeExpired,
  InvalidDocument,
  type TokenRejected,
  UnexpectedStatus,
} from "../errors.js";
import { isLoopbackHost } from "../protocol/resource-uri.js";
import { adjustApiRequest, adjustTokenRequest } from "../quirks/apply.js";
import type { ResolvedQuirks } from "../quirks/profile.js";
import {
  DeviceAuthorizationResponse,
  decodeDocument,
  isFreeOfControlCharacters,
  OAuthErrorResponse,
  type TokenResponse,
} from "../schema/wire.js";
import { DeviceCodePresenter } from "../services/device-code-presenter.js";
import {
  type HttpPolicy,
  OAuthHttp,
  type OAuthResponse,
  readJsonObject,
} from "../services/http.js";
import {
  acceptsForm,
  asRequested,
  clientAuthenticatedPost,
  processTokenResponse,
  readFormObject,
  saveGrantedTokens,
  type TokenEndpointContext,
  tokenEndpointPost,
} from "./tokens.js";

export {
  DeviceCodePresenter,
  type DeviceCodePresenterService,
  type DeviceCodePrompt,
  formatDeviceCodePrompt,
} from "../services/device-code-presenter.js";

/** RFC 8628 §3.4 `grant_type`. */
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/**
 * Whether the authorization server offers the device authorization grant: it names a
 * `device_authorization_endpoint` (RFC 8628 §4), and its `grant_types_supported`, when it lists
 * any, includes the device code. An absent list is read as no objection: servers that added the
 * endpoint often never list their grants (RFC 8414 §2's default for an absent list predates the
 * device grant).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-4
 */
export const offersDeviceGrant = (metadata: {
  readonly device_authorization_endpoint?: string | undefined;
  readonly grant_types_supported?: readonly string[] | undefined;
}): boolean =>
  metadata.device_authorization_endpoint !== undefined &&
  (metadata.grant_types_supported === undefined ||
    metadata.grant_types_supported.includes(DEVICE_CODE_GRANT));

export const devicePolling = {
  /** RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default." */
  defaultIntervalSeconds: 5,
  /** RFC 8628 §3.5 slow_down: "the interval MUST be increased by 5 seconds for this and all subsequent requests". */
  slowDownSeconds: 5,
  /** A smaller interval (0, negative, fractional) would be a busy loop: one second at least. */
  minIntervalSeconds: 1,
  /** The longest a device code is believed to live: an hour (RFC 8628's example: 30 minutes). */
  maxLifetimeSeconds: 3600,
} as const;

export interface DeviceAuthorizationInput extends TokenEndpointContext {
  /** The MCP server's canonical URI (RFC 8707 §2; MCP "Canonical Server URI"). */
  readonly resource: string;
  /** RFC 8628 §3.1 `scope`; empty or absent: omitted. */
  readonly scopes?: readonly string[] | undefined;
}

/** An answered device authorization request (RFC 8628 §3.2), with its lifetime as a deadline. */
export interface DeviceAuthorization {
  readonly deviceCode: Redacted.Redacted<string>;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete?: string | undefined;
  /** Epoch milliseconds after which the device code is not polled with any more. */
  readonly expiresAt: number;
  readonly intervalSeconds: number;
}

/**
 * RFC 8628 §3.1: the request's parameters (client authentication adds `client_id`), as the
 * server's quirk profile adjusts them (resource, scope, audience: quirks/apply.ts). Pure.
 */
export const deviceAuthorizationParams = (input: {
  readonly resource: string;
  readonly scopes?: readonly string[] | undefined;
  readonly quirks?: ResolvedQuirks | undefined;
}): URLSearchParams => {
  const adjusted = adjustApiRequest(
    input.quirks,
    { resource: input.resource, scopes: input.scopes ?? [] },
    "device_authorization",
  );
  const params = new URLSearchParams();
  if (adjusted.scope !== undefined) params.set("scope", adjusted.scope);
  if (adjusted.resource !== undefined) params.set("resource", adjusted.resource);
  if (adjusted.audience !== undefined) params.set("audience", adjusted.audience);
  return params;
};

/**
 * RFC 8628 §3.4: the device code's token request, as the profile adjusts it (resource only: the
 * device authorization request named the scope). Pure.
 */
export const deviceTokenParams = (input: {
  readonly deviceCode: Redacted.Redacted<string>;
  readonly resource: string;
  readonly quirks?: ResolvedQuirks | undefined;
}): URLSearchParams => {
  const adjusted = adjustTokenRequest(input.quirks, {
    grantType: "device_code",
    resource: input.resource,
  });
  const params = new URLSearchParams({
    grant_type: DEVICE_CODE_GRANT,
    device_code: Redacted.value(input.deviceCode),
  });
  if (adjusted.resource !== undefined) params.set("resource", adjusted.resource);
  return params;
};

/**
 * A URI the user is sent to (RFC 8628 §3.2 verification_uri): https, or http on a loopback host
 * when the HTTP policy allows insecure loopback (development); no userinfo, no control
 * characters. Pure. Tested by "hostile answers are typed" in device-authorization.test.ts.
 */
export const isPresentableUri = (uri: string, allowInsecureLoopback: boolean): boolean => {
  // The URL parser drops tabs and newlines and escapes the rest, but the user is shown the text
  // as sent: no control character may reach the terminal.
  if (!isFreeOfControlCharacters(uri)) return false;
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return false;
  }
  if (parsed.username !== "" || parsed.password !== "") return false;
  if (parsed.protocol === "https:") return true;
  return parsed.protocol === "http:" && allowInsecureLoopback && isLoopbackHost(parsed.hostname);
};

/** The polling interval a server's `interval` means (RFC 8628 §3.2). Pure. */
export const pollIntervalSeconds = (interval: number | undefined): number =>
  interval === undefined
    ? devicePolling.defaultIntervalSeconds
    : Math.max(devicePolling.minIntervalSeconds, Math.ceil(interval));

/**
 * RFC 8628 §3.2: the answer to a device authorization request, given the time it arrived. A 4xx
 * OAuth error is DeviceAuthorizationRejected; a response that lacks a required member, has an
 * undisplayable user code or a verification URI that is not https is an InvalidDocument.
 */
export const processDeviceAuthorizationResponse = (
  response: OAuthResponse,
  options: {
    readonly now: number;
    readonly policy: Pick<HttpPolicy, "allowInsecureLoopback">;
    /** Read a form-encoded 200 answer too (a quirk profile's `formEncodedTokenResponse`). */
    readonly acceptForm?: boolean | undefined;
  },
) =>
  Effect.gen(function* () {
    const url = response.url;
    if (response.status !== 200) {
      const error = yield* readJsonObject(response).pipe(
        Effect.flatMap(decodeDocument(OAuthErrorResponse, "device authorization error", url)),
        Effect.option,
      );
      if (Option.isSome(error) && response.status >= 400 && response.status < 500) {
        return yield* new DeviceAuthorizationRejected({
          code: error.value.error,
          status: response.status,
          errorDescription: error.value.error_description,
        });
      }
      return yield* new UnexpectedStatus({
        url,
        status: response.status,
        expected: "200 or an OAuth error response",
      });
    }
    // GitHub answers its device authorization endpoint form-encoded, as its token endpoint.
    const form = options.acceptForm
      ? readFormObject(response, ["expires_in", "interval"])
      : undefined;
    const json = form ?? (yield* readJsonObject(response));
    const answer = yield* decodeDocument(
      DeviceAuthorizationResponse,
      "device authorization response",
      url,
    )(json);
    const unsafe = [
      ["verification_uri", answer.verification_uri],
      ["verification_uri_complete", answer.verification_uri_complete],
    ].flatMap(([name, uri]) =>
      uri === undefined || isPresentableUri(uri, options.policy.allowInsecureLoopback)
        ? []
        : [`${name} is not an https URL`],
    );
    if (unsafe.length > 0) {
      return yield* new InvalidDocument({
        url,
        document: "device authorization response",
        issues: unsafe,
      });
    }
    const lifetime = Math.min(answer.expires_in, devicePolling.maxLifetimeSeconds);
    return {
      deviceCode: Redacted.make(answer.device_code),
      userCode: answer.user_code,
      verificationUri: answer.verification_uri,
      verificationUriComplete: answer.verification_uri_complete,
      expiresAt: options.now + Math.floor(lifetime * 1000),
      intervalSeconds: pollIntervalSeconds(answer.interval),
    } satisfies DeviceAuthorization;
  });

/** RFC 8628 §3.1: the device authorization request. */
export const requestDeviceAuthorization = Effect.fn("requestDeviceAuthorization")(function* (
  input: DeviceAuthorizationInput,
) {
  const endpoint = input.metadata.device_authorization_endpoint;
  if (endpoint === undefined) {
    return yield* new DeviceAuthorizationUnsupported({ issuer: input.issuer });
  }
  const http = yield* OAuthHttp;
  const response = yield* clientAuthenticatedPost(
    input,
    deviceAuthorizationParams(input),
    endpoint,
  );
  return yield* processDeviceAuthorizationResponse(response, {
    now: yield* Clock.currentTimeMillis,
    policy: http.policy,
    acceptForm: acceptsForm(input.quirks),
  });
});

/** What one poll of the token endpoint says (RFC 8628 §3.5). */
export type DevicePoll =
  | { readonly _tag: "Granted"; readonly response: TokenResponse }
  | { readonly _tag: "Pending" }
  | { readonly _tag: "SlowDown" };

/**
 * RFC 8628 §3.5: what an OAuth error from the token endpoint means to a device code —
 * `authorization_pending` and `slow_down` are answers to poll again, `access_denied` and
 * `expired_token` end the grant with their own errors, anything else is the TokenRejected it is.
 */
const classifyDeviceRejection = (
  rejected: TokenRejected,
  expiresAt: number,
): Effect.Effect<DevicePoll, DeviceAuthorizationDenied | DeviceCodeExpired | TokenRejected> => {
  switch (rejected.code) {
    case "authorization_pending":
      return Effect.succeed({ _tag: "Pending" });
    case "slow_down":
      return Effect.succeed({ _tag: "SlowDown" });
    case "access_denied":
      return Effect.fail(
        new DeviceAuthorizationDenied({ errorDescription: rejected.errorDescription }),
      );
    case "expired_token":
      return Effect.fail(new DeviceCodeExpired({ reportedBy: "server", expiresAt }));
    default:
      return Effect.fail(rejected);
  }
};

/** RFC 8628 §3.4-§3.5: one token endpoint answer to a device code, as a DevicePoll. No I/O. */
export const processDeviceTokenResponse = (
  response: OAuthResponse,
  expiresAt: number,
  options: { readonly acceptForm?: boolean | undefined } = {},
) =>
  processTokenResponse(response, DEVICE_CODE_GRANT, options).pipe(
    Effect.map((granted): DevicePoll => ({ _tag: "Granted", response: granted })),
    Effect.catchTag("TokenRejected", (rejected) => classifyDeviceRejection(rejected, expiresAt)),
  );

/** RFC 8628 §3.5: the interval after a poll's answer. Pure. */
export const nextPollInterval = (seconds: number, poll: DevicePoll): number =>
  poll._tag === "SlowDown" ? seconds + devicePolling.slowDownSeconds : seconds;

export interface PollDeviceTokenInput extends TokenEndpointContext {
  /** What polling needs of the answered request: the code, its deadline, the interval. */
  readonly authorization: Pick<DeviceAuthorization, "deviceCode" | "expiresAt" | "intervalSeconds">;
  readonly resource: string;
  readonly scopes?: readonly string[] | undefined;
}

/**
 * RFC 8628 §3.4-§3.5: poll until the user decides or the code expires, waiting `interval` before
 * every request (never past the code's deadline), then save the token set for
 * (resource, issuer, client) as every granted token is saved.
 */
export const pollDeviceToken = Effect.fn("pollDeviceToken")(function* (
  input: PollDeviceTokenInput,
) {
  const { authorization } = input;
  const params = deviceTokenParams({
    deviceCode: authorization.deviceCode,
    resource: input.resource,
    quirks: input.quirks,
  });
  const key = { resource: input.resource, issuer: input.issuer, clientId: input.client.clientId };
  let interval = authorization.intervalSeconds;
  for (;;) {
    const remaining = authorization.expiresAt - (yield* Clock.currentTimeMillis);
    yield* Effect.sleep(Duration.millis(Math.max(0, Math.min(interval * 1000, remaining))));
    if ((yield* Clock.currentTimeMillis) >= authorization.expiresAt) {
      return yield* new DeviceCodeExpired({
        reportedBy: "client",
        expiresAt: authorization.expiresAt,
      });
    }
    // Each poll is a token request: with a DPoP proof when in use (RFC 9449 §5), its nonce
    // retry inside.
    const { response, dpop } = yield* tokenEndpointPost(input, params, key);
    const poll = yield* processDeviceTokenResponse(response, authorization.expiresAt, {
      acceptForm: acceptsForm(input.quirks),
    });
    if (poll._tag === "Granted") {
      return yield* saveGrantedTokens(asRequested(input.quirks, input.resource, poll.response), {
        key,
        requestedScopes: input.scopes ?? [],
        grantType: DEVICE_CODE_GRANT,
        dpop,
      });
    }
    interval = nextPollInterval(interval, poll);
  }
});

/**
 * RFC 8628 end to end: the device authorization request, the prompt to the user, then polling.
 */
export const deviceAuthorization = Effect.fn("deviceAuthorization")(function* (
  input: DeviceAuthorizationInput,
) {
  const authorization = yield* requestDeviceAuthorization(input);
  const presenter = yield* DeviceCodePresenter;
  yield* presenter.present({
    userCode: authorization.userCode,
    verificationUri: authorization.verificationUri,
    verificationUriComplete: authorization.verificationUriComplete,
    expiresAt: authorization.expiresAt,
  });
  return yield* pollDeviceToken({ ...input, authorization });
});
