/**
 * OAuthHttp: the only way authchart talks to discovery, registration and token endpoints.
 * Every request is checked and bounded here, once, instead of in each step (DESIGN invariants):
 * - https only, http on loopback hosts by an explicit policy flag (SPEC X1, X6);
 * - redirects are never followed — a 3xx is a typed error (RFC 9700 §4.11; SPEC X7 re-validation);
 * - a timeout covers connecting, headers and body;
 * - bodies are read up to a byte limit, checked against Content-Length first and while streaming.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform";
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
import { isLoopbackHost } from "../protocol/resource-uri.js";

export interface HttpPolicy {
  /** Upper bound for one request, body included. */
  readonly timeoutMillis: number;
  /** Upper bound for one response body. Metadata and token responses are small. */
  readonly maxBodyBytes: number;
  /**
   * Allow plain http to loopback hosts: a development opt-in (SPEC X1). Sessions turn it on only
   * when the MCP server itself is on loopback.
   */
  readonly allowInsecureLoopback: boolean;
}

export const defaultHttpPolicy: HttpPolicy = {
  timeoutMillis: 10_000,
  maxBodyBytes: 256 * 1024,
  allowInsecureLoopback: false,
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

  /** Over the platform's fetch, with `redirect: "manual"` so that 3xx answers reach us. */
  static readonly layerFetch = (policy: Partial<HttpPolicy> = {}) =>
    OAuthHttp.layer(policy).pipe(
      Layer.provide(FetchHttpClient.layer),
      Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { redirect: "manual" })),
    );
}

/** SPEC X1/X6: which URLs may be contacted at all. Pure; exported for the steps' own checks. */
export const checkTransportSecurity = (
  url: string,
  policy: Pick<HttpPolicy, "allowInsecureLoopback">,
): InsecureUrl | undefined => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return new InsecureUrl({ url, reason: "not an absolute URL" });
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
      return execute(client, policy, request).pipe(
        Effect.scoped,
        Effect.timeoutFail({
          duration: policy.timeoutMillis,
          onTimeout: () =>
            new RequestTimeout({ url: request.url, timeoutMillis: policy.timeoutMillis }),
        }),
      );
    }),
});

const toRequest = (request: OAuthRequest): HttpClientRequest.HttpClientRequest => {
  let req =
    request.method === "GET"
      ? HttpClientRequest.get(request.url)
      : HttpClientRequest.post(request.url);
  req = HttpClientRequest.setHeaders(req, { accept: "application/json", ...request.headers });
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
          (error) => new TransportError({ url: request.url, reason: describeCause(error.cause) }),
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
    Effect.map(({ chunks, size }) => {
      const out = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        out.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return out;
    }),
  );

/** A short, secret-free reason for a transport failure (undici puts the useful part in `cause`). */
const describeCause = (cause: unknown): string => {
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (inner && typeof inner.code === "string") return inner.code;
  if (cause instanceof Error) return cause.message;
  return "connection failed";
};

const decoder = new TextDecoder("utf-8", { fatal: true });

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
    const value: unknown = JSON.parse(decoder.decode(body));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? Option.some(value as Record<string, unknown>)
      : Option.none();
  } catch {
    return Option.none();
  }
};
