/**
 * OAuthHttp: the only way authchart talks to discovery, registration and token endpoints.
 * Every request is checked and bounded here, once, instead of in each step:
 * - https only, http on loopback hosts by an explicit policy flag (MCP "Communication Security");
 * - no loopback, private or link-local address unless the policy allows it (SSRF, RFC 9728 §7.7);
 * - redirects are never followed — a 3xx is a typed error (RFC 9700 §4.11; no unchecked hop);
 * - a timeout covers connecting, headers and body;
 * - bodies are read up to a byte limit, checked against Content-Length first and while streaming;
 * - JSON is read only as an object, nested no deeper than `maxJsonDepth`;
 * - a transport failure is described by its error code only: a message may quote a header value
 *   (a client secret in Basic credentials), so none is ever copied.
 */
import * as HttpClient from "@effect/platform/HttpClient";
import * as HttpClientRequest from "@effect/platform/HttpClientRequest";
import { Context, Effect, Layer, Option, Stream } from "effect";
import {
  type HttpError,
  InsecureUrl,
  MalformedJson,
  RequestTimeout,
  ResponseTooLarge,
  TransportError,
  UnexpectedContentType,
  UnexpectedRedirect,
} from "../errors.js";
import { isLocalNetworkHost, isLoopbackHost } from "../protocol/resource-uri.js";

export interface HttpPolicy {
  /** Upper bound for one request, body included. */
  readonly timeoutMillis: number;
  /** Upper bound for one response body. Metadata and token responses are small. */
  readonly maxBodyBytes: number;
  /**
   * Allow plain http to loopback hosts: a development opt-in (OAuth 2.1 §1.5). Sessions turn it on
   * only when the MCP server itself is on loopback.
   */
  readonly allowInsecureLoopback: boolean;
  /**
   * Allow requests to loopback, private-range and link-local IP literals and `localhost` (SSRF,
   * RFC 9728 §7.7). A remote MCP server could otherwise point the client at this machine or its
   * network through `resource_metadata`, `authorization_servers` or metadata endpoints. Default:
   * the value of `allowInsecureLoopback` (a development setup); sessions turn it on only when the
   * MCP server itself is on such an address.
   */
  readonly allowPrivateNetwork?: boolean | undefined;
  /**
   * The User-Agent of every request (RFC 9110 §10.1.5): firewalls in front of authorization
   * servers refuse requests without one. A request's own `user-agent` header (a quirk profile's)
   * wins. Default (and when empty) `defaultUserAgent`: there is always one.
   */
  readonly userAgent?: string | undefined;
}

/** What authchart calls itself when the application names nothing else. */
export const defaultUserAgent = "authchart/0.1.0 (+https://github.com/authchart/authchart)";

export const defaultHttpPolicy: HttpPolicy = {
  timeoutMillis: 10_000,
  maxBodyBytes: 256 * 1024,
  allowInsecureLoopback: false,
  userAgent: defaultUserAgent,
};

export type OAuthRequestBody =
  | { readonly _tag: "form"; readonly params: URLSearchParams }
  | { readonly _tag: "json"; readonly value: unknown };

export interface OAuthRequest {
  readonly method: "GET" | "POST";
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: OAuthRequestBody;
}

export interface OAuthResponse {
  readonly url: string;
  readonly status: number;
  /** Lower-cased names; repeated headers joined with ", " as fetch does. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface OAuthHttpService {
  readonly policy: HttpPolicy;
  readonly send: (request: OAuthRequest) => Effect.Effect<OAuthResponse, HttpError>;
}

export class OAuthHttp extends Context.Tag("@authchart/core/OAuthHttp")<
  OAuthHttp,
  OAuthHttpService
>() {
  /** Built over any @effect/platform HttpClient; it must not follow redirects on its own. */
  static readonly layer = (policy: Partial<HttpPolicy> = {}) =>
    Layer.effect(
      OAuthHttp,
      Effect.map(HttpClient.HttpClient, (client) =>
        make(client, { ...defaultHttpPolicy, ...policy }),
      ),
    );

  /**
   * Over fetch (the platform's, or the one given), with `redirect: "manual"` so that 3xx answers
   * reach us.
   */
  static readonly layerFetch = (
    policy: Partial<HttpPolicy> = {},
    fetch?: typeof globalThis.fetch | undefined,
  ) => Layer.succeed(OAuthHttp, OAuthHttp.overFetch(policy, fetch));

  /** The service `layerFetch` provides, for a Context built without a Layer. */
  static readonly overFetch = (
    policy: Partial<HttpPolicy> = {},
    fetch?: typeof globalThis.fetch | undefined,
  ): OAuthHttpService =>
    makeOverFetch(fetch ?? ((input, init) => globalThis.fetch(input, init)), {
      ...defaultHttpPolicy,
      ...policy,
    });
}

/**
 * Which URLs may be contacted at all (https: OAuth 2.1 §1.5; SSRF: RFC 9728 §7.7). Pure; exported
 * for the steps' own checks. Userinfo is refused everywhere: it would be sent as credentials nobody
 * asked for.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#communication-security
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-7.7
 */
export const checkTransportSecurity = (
  url: string,
  policy: Pick<HttpPolicy, "allowInsecureLoopback" | "allowPrivateNetwork">,
): InsecureUrl | undefined => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return new InsecureUrl({ url: "(not a URL)", reason: "not an absolute URL" });
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return new InsecureUrl({ url: displayUrl(parsed), reason: "the URL carries userinfo" });
  }
  if (
    (parsed.protocol === "https:" || parsed.protocol === "http:") &&
    !(policy.allowPrivateNetwork ?? policy.allowInsecureLoopback) &&
    isLocalNetworkHost(parsed.hostname)
  ) {
    return new InsecureUrl({
      url,
      reason:
        "a loopback, private or link-local address, which a remote server may not point this client at (allowed when the MCP server itself is local, or with http.allowPrivateNetwork)",
    });
  }
  if (parsed.protocol === "https:") return undefined;
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) {
    return policy.allowInsecureLoopback
      ? undefined
      : new InsecureUrl({ url, reason: "plain http to loopback is disabled by policy" });
  }
  return new InsecureUrl({
    url,
    reason:
      parsed.protocol === "http:"
        ? "plain http outside loopback"
        : `scheme ${parsed.protocol} is not allowed`,
  });
};

const make = (client: HttpClient.HttpClient, policy: HttpPolicy): OAuthHttpService => ({
  policy,
  send: (request) =>
    Effect.suspend((): Effect.Effect<OAuthResponse, HttpError> => {
      const insecure = checkTransportSecurity(request.url, policy);
      if (insecure) return Effect.fail(insecure);
      return execute(client, policy, withStandardHeaders(request, policy)).pipe(
        Effect.scoped,
        Effect.timeoutFail({
          duration: policy.timeoutMillis,
          onTimeout: () =>
            new RequestTimeout({ url: request.url, timeoutMillis: policy.timeoutMillis }),
        }),
      );
    }),
});

/**
 * Straight over fetch, `redirect: "manual"`, the body read with the stream's own reader: an
 * HttpClient and an Effect Stream per response cost ~2–3 ms of CPU each (measured), on every
 * discovery, registration and token request. The same checks, errors and limits as `make`.
 */
const makeOverFetch = (fetch: typeof globalThis.fetch, policy: HttpPolicy): OAuthHttpService => ({
  policy,
  send: (request) =>
    Effect.suspend((): Effect.Effect<OAuthResponse, HttpError> => {
      const insecure = checkTransportSecurity(request.url, policy);
      if (insecure) return Effect.fail(insecure);
      // One callback and one timer per request: the request's own AbortSignal ends it at the
      // timeout (connecting, headers and body alike) or when the fiber is interrupted. An Effect
      // timeout would fork a racing fiber for every request.
      const outgoing = withStandardHeaders(request, policy);
      return Effect.async<OAuthResponse, HttpError>((resume) => {
        const controller = new AbortController();
        let settled = false;
        const settle = (outcome: Effect.Effect<OAuthResponse, HttpError>) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resume(outcome);
        };
        // Settled at the timeout even if a given fetch ignores its signal. A timeout beyond what
        // a timer can hold (2^31-1 ms, ~24.8 days; Infinity) is none: Node would fire it at once.
        const timer = armable(policy.timeoutMillis)
          ? setTimeout(() => {
              settle(
                Effect.fail(
                  new RequestTimeout({ url: request.url, timeoutMillis: policy.timeoutMillis }),
                ),
              );
              controller.abort();
            }, policy.timeoutMillis)
          : undefined;
        sendOverFetch(fetch, policy, outgoing, controller.signal).then(
          (response) => settle(Effect.succeed(response)),
          (error: unknown) =>
            settle(
              Effect.fail(
                error instanceof TransportError ||
                  error instanceof UnexpectedRedirect ||
                  error instanceof ResponseTooLarge
                  ? error
                  : new TransportError({
                      url: request.url,
                      reason: describeTransportFailure(error),
                    }),
              ),
            ),
        );
        return Effect.sync(() => {
          settled = true;
          clearTimeout(timer);
          controller.abort();
        });
      });
    }),
});

/** The longest delay a timer holds (setTimeout fires a longer one after 1 ms). */
const maxTimerMillis = 2 ** 31 - 1;
const armable = (millis: number) => Number.isFinite(millis) && millis <= maxTimerMillis;

const sendOverFetch = async (
  fetch: typeof globalThis.fetch,
  policy: HttpPolicy,
  request: OAuthRequest,
  signal: AbortSignal,
): Promise<OAuthResponse> => {
  const { url } = request;
  const [body, contentType] =
    request.body?._tag === "form"
      ? [request.body.params.toString(), "application/x-www-form-urlencoded"]
      : request.body?._tag === "json"
        ? [JSON.stringify(request.body.value), "application/json"]
        : [undefined, undefined];
  const own = new Set(Object.keys(request.headers ?? {}).map((name) => name.toLowerCase()));
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      headers: {
        ...(contentType === undefined || own.has("content-type")
          ? {}
          : { "content-type": contentType }),
        ...request.headers,
      },
      ...(body === undefined ? {} : { body }),
      redirect: "manual",
      signal,
    });
  } catch (error) {
    throw new TransportError({ url, reason: describeTransportFailure(error) });
  }
  const headers: Record<string, string> = Object.fromEntries(response.headers);
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new UnexpectedRedirect({
      url,
      status: response.status,
      ...optionalLocation(headers.location, url),
    });
  }
  const declared = Number(headers["content-length"]);
  if (Number.isFinite(declared) && declared > policy.maxBodyBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLarge({ url, limitBytes: policy.maxBodyBytes });
  }
  return { url, status: response.status, headers, body: await readWeb(response.body, url, policy) };
};

/** The body, at most `maxBodyBytes`; a larger one is cancelled as soon as it is too large. */
const readWeb = async (
  body: ReadableStream<Uint8Array> | null,
  url: string,
  policy: HttpPolicy,
): Promise<Uint8Array> => {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await reader.read();
    } catch {
      throw new TransportError({ url, reason: "the connection broke while reading the body" });
    }
    if (read.done) return concat(chunks, size);
    size += read.value.byteLength;
    if (size > policy.maxBodyBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge({ url, limitBytes: policy.maxBodyBytes });
    }
    chunks.push(read.value);
  }
};

const concat = (chunks: readonly Uint8Array[], size: number) => {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
};

/**
 * Every request names its client (`User-Agent`, RFC 9110 §10.1.5) and asks for JSON (`Accept`,
 * RFC 9110 §12.5.1) — token endpoints among them: some answer form-encoded unless asked for JSON.
 * Headers the request sets itself win.
 */
export const withStandardHeaders = (
  request: OAuthRequest,
  policy: Pick<HttpPolicy, "userAgent">,
): OAuthRequest => {
  const own = new Set(Object.keys(request.headers ?? {}).map((name) => name.toLowerCase()));
  const userAgent = policy.userAgent || defaultUserAgent;
  return {
    ...request,
    headers: {
      ...(own.has("accept") ? {} : { accept: "application/json" }),
      ...(own.has("user-agent") ? {} : { "user-agent": userAgent }),
      ...request.headers,
    },
  };
};

const toRequest = (request: OAuthRequest): HttpClientRequest.HttpClientRequest => {
  let req =
    request.method === "GET"
      ? HttpClientRequest.get(request.url)
      : HttpClientRequest.post(request.url);
  req = HttpClientRequest.setHeaders(req, { ...request.headers });
  if (request.body?._tag === "form")
    req = HttpClientRequest.bodyUrlParams(req, request.body.params);
  if (request.body?._tag === "json")
    req = HttpClientRequest.bodyUnsafeJson(req, request.body.value);
  return req;
};

const execute = (client: HttpClient.HttpClient, policy: HttpPolicy, request: OAuthRequest) =>
  Effect.gen(function* () {
    const response = yield* client
      .execute(toRequest(request))
      .pipe(
        Effect.mapError(
          (error) =>
            new TransportError({ url: request.url, reason: describeTransportFailure(error.cause) }),
        ),
      );
    const headers = response.headers as Readonly<Record<string, string>>;
    if (response.status >= 300 && response.status < 400) {
      return yield* new UnexpectedRedirect({
        url: request.url,
        status: response.status,
        ...optionalLocation(headers.location, request.url),
      });
    }
    const declared = Number(headers["content-length"]);
    if (Number.isFinite(declared) && declared > policy.maxBodyBytes) {
      return yield* new ResponseTooLarge({ url: request.url, limitBytes: policy.maxBodyBytes });
    }
    const body = yield* readBounded(response.stream, request.url, policy.maxBodyBytes);
    return { url: request.url, status: response.status, headers, body } satisfies OAuthResponse;
  });

/** The Location of a redirect, without its query and fragment (they may carry codes). */
const optionalLocation = (location: string | undefined, base: string) => {
  if (location === undefined) return {};
  try {
    const url = new URL(location, base);
    return { location: `${url.origin}${url.pathname}` };
  } catch {
    return { location: "(unparseable)" };
  }
};

const readBounded = <E>(stream: Stream.Stream<Uint8Array, E>, url: string, limit: number) =>
  stream.pipe(
    Stream.mapError(
      () => new TransportError({ url, reason: "the connection broke while reading the body" }),
    ),
    Stream.runFoldEffect({ chunks: [] as Uint8Array[], size: 0 }, (acc, chunk) => {
      const size = acc.size + chunk.byteLength;
      if (size > limit) return Effect.fail(new ResponseTooLarge({ url, limitBytes: limit }));
      acc.chunks.push(chunk);
      return Effect.succeed({ chunks: acc.chunks, size });
    }),
    Effect.map(({ chunks, size }) => concat(chunks, size)),
  );

/**
 * A short, secret-free reason for a transport failure: the system error code (undici puts it in
 * `cause`), else the error's class. Never the message: fetch's Headers quote the offending value
 * ("… is an invalid header value"), which may be a bearer token or client credentials.
 */
export const describeTransportFailure = (error: unknown): string => {
  for (
    let e: unknown = error, depth = 0;
    e !== null && typeof e === "object" && depth < 4;
    depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]{1,47}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  const name = error instanceof Error ? error.name : undefined;
  return name !== undefined && /^[A-Za-z]{1,40}$/.test(name)
    ? `the connection failed (${name})`
    : "the connection failed";
};

/** A URL for a message: origin and path only (a query or userinfo may carry secrets). */
export const displayUrl = (url: URL | string): string => {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "(not a URL)";
  }
};

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * How deep a JSON document may nest. Every document this library reads is at most three levels
 * deep (metadata arrays of strings); a deeper one is hostile, and JSON.parse would recurse on it.
 */
export const maxJsonDepth = 32;

/** The nesting depth of JSON text, counted in one linear pass that skips strings. */
export const jsonDepth = (text: string): number => {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
};

/** RFC 8259 / OAuth: a JSON object with a JSON media type (application/json or +json). */
export const readJsonObject = (
  response: OAuthResponse,
): Effect.Effect<Record<string, unknown>, UnexpectedContentType | MalformedJson> => {
  const contentType = response.headers["content-type"] ?? "";
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (mediaType !== "application/json" && !mediaType.endsWith("+json")) {
    return Effect.fail(
      new UnexpectedContentType({ url: response.url, status: response.status, contentType }),
    );
  }
  return Option.match(parseObject(response.body), {
    onNone: () => Effect.fail(new MalformedJson({ url: response.url, status: response.status })),
    onSome: Effect.succeed,
  });
};

const parseObject = (body: Uint8Array): Option.Option<Record<string, unknown>> => {
  try {
    const text = decoder.decode(body);
    if (jsonDepth(text) > maxJsonDepth) return Option.none();
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? Option.some(value as Record<string, unknown>)
      : Option.none();
  } catch {
    return Option.none();
  }
};
