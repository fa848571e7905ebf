/**
 * The probe's fetching: the discovery a client makes (MCP "Authorization Server Discovery"),
 * without authorizing and without stopping. Where discoverResource and discoverAuthServer stop at
 * the first problem, this tries every location in the order MCP prescribes, follows redirects a
 * few hops to see what is behind them, and records each request (URL, status, redirect, failure),
 * so that the judge (pitfalls.ts) can name every problem at once. The locations, the wire
 * schemas, the HTTP client and its checks are core's own (metadata-urls.ts, wire.ts, OAuthHttp).
 *
 * It fails only when there is nothing to report: the URL is not a usable MCP server URL, or the
 * MCP server itself cannot be reached.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#authorization-server-discovery
 */
import { Clock, Effect, Either } from "effect";
import { type HttpError, InvalidResourceUri, RequestTimeout } from "../errors.js";
import {
  authorizationServerMetadataUrls,
  protectedResourceMetadataUrls,
} from "../protocol/metadata-urls.js";
import {
  canonicalResourceUri,
  isLocalNetworkHost,
  isLoopbackHost,
} from "../protocol/resource-uri.js";
import { readResourceChallenge } from "../protocol/www-authenticate.js";
import {
  AuthorizationServerMetadata,
  decodeDocument,
  ProtectedResourceMetadata,
} from "../schema/wire.js";
import {
  checkTransportSecurity,
  OAuthHttp,
  type OAuthRequest,
  type OAuthResponse,
  readJsonObject,
} from "../services/http.js";
import {
  type AuthServerRecord,
  type ChallengeRecord,
  firstDocument,
  type Hop,
  type Lookup,
  type Outcome,
  type ProbeRecord,
  shownUrl,
} from "./record.js";

/** Redirects followed from one location: enough for http→https→canonical host, not a loop. */
export const maxRedirectHops = 5;
/** Authorization servers probed from one metadata document (RFC 9728 §7.6: the client picks). */
export const maxAuthorizationServers = 5;
/**
 * The whole probe's time. Each request has the HTTP policy's timeout, but a probe makes up to a
 * hundred of them (every location, every redirect hop, five authorization servers): a server that
 * answers each just before its timeout would hold the probe for a quarter of an hour. What is
 * not sent in time is recorded as not tried, and the report is made from the rest.
 */
export const defaultProbeBudgetMillis = 60_000;

export interface ProbeOptions {
  /** The whole probe's time (default: defaultProbeBudgetMillis). */
  readonly budgetMillis?: number | undefined;
}

/**
 * One request within the probe's time: its own timeout, cut to what is left of the budget; a
 * request for which no time is left is not sent (`NotSent`).
 */
const sendWithin = (deadline: number, budgetMillis: number, request: OAuthRequest) =>
  Effect.gen(function* () {
    const left = deadline - (yield* Clock.currentTimeMillis);
    if (left <= 0) return { _tag: "NotSent" as const, budgetMillis };
    const http = yield* OAuthHttp;
    return yield* Effect.either(
      http.send(request).pipe(
        Effect.timeoutFail({
          duration: left,
          onTimeout: () => new RequestTimeout({ url: request.url, timeoutMillis: left }),
        }),
      ),
    );
  });

const notSent = (budgetMillis: number) =>
  `not tried: the probe's ${budgetMillis / 1000} s ran out before this request`;

/**
 * The HTTP policy a probe of `serverUrl` uses: the session's (createSession), so the probe
 * refuses what a client would — plain http and private addresses only for a server that is
 * itself local (MCP "Communication Security"; RFC 9728 §7.7).
 */
export const probePolicy = (serverUrl: string) => {
  const host = new URL(serverUrl).hostname;
  return {
    allowInsecureLoopback: isLoopbackHost(host),
    allowPrivateNetwork: isLocalNetworkHost(host),
  };
};

/**
 * The request a client sends first: an MCP `initialize` without a token (MCP "Authorization Flow
 * Steps": the server answers 401 with its challenge).
 */
const initializeRequest = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "authchart-probe", version: "0" },
  },
} as const;

const hopOf = (method: Hop["method"], url: string, response: OAuthResponse): Hop => ({
  method,
  url,
  status: response.status,
  contentType: response.headers["content-type"],
});

const failedHop = (method: Hop["method"], url: string, error: HttpError): Hop =>
  error._tag === "UnexpectedRedirect"
    ? { method, url, status: error.status, location: error.location }
    : { method, url, failure: { tag: error._tag, message: error.message } };

/** The MCP server's answer to `initialize` without a token. Fails when it cannot be reached. */
const askServer = (serverUrl: string, deadline: number, budgetMillis: number) =>
  Effect.gen(function* () {
    const sent = yield* sendWithin(deadline, budgetMillis, {
      method: "POST",
      url: serverUrl,
      headers: { accept: "application/json, text/event-stream" },
      body: { _tag: "json", value: initializeRequest },
    });
    if (sent._tag === "NotSent")
      return yield* new RequestTimeout({ url: serverUrl, timeoutMillis: budgetMillis });
    if (Either.isLeft(sent)) {
      const error = sent.left;
      // A redirect is recorded (discovery goes on from the URL given); a server that cannot be
      // reached, or that this client refuses, leaves nothing to report.
      if (error._tag === "UnexpectedRedirect") {
        return { hop: failedHop("POST", serverUrl, error) } satisfies ChallengeRecord;
      }
      return yield* Effect.fail(error);
    }
    const response = sent.right;
    const hop = hopOf("POST", serverUrl, response);
    if (response.status !== 401 && response.status !== 403)
      return { hop } satisfies ChallengeRecord;
    const challenge = readResourceChallenge(response.headers["www-authenticate"]);
    if (challenge?.resourceMetadata === undefined) return { hop, challenge };
    const { ignoredResourceMetadata } = protectedResourceMetadataUrls(
      serverUrl,
      challenge.resourceMetadata,
    );
    return { hop, challenge, ignoredResourceMetadata } satisfies ChallengeRecord;
  });

/**
 * A 200's document: JSON object, then the schema. A content type other than JSON stops a strict
 * client, but the body is still read (as JSON, bounded as usual) so that the rest can be judged.
 */
const readDocument = <D>(
  response: OAuthResponse,
  decode: (json: unknown) => Effect.Effect<D, { readonly issues: readonly string[] }>,
) =>
  Effect.gen(function* () {
    const strict = yield* Effect.either(readJsonObject(response));
    let json: Record<string, unknown>;
    let problem: string | undefined;
    if (Either.isRight(strict)) json = strict.right;
    else {
      const lenient = yield* Effect.either(
        readJsonObject({
          ...response,
          headers: { ...response.headers, "content-type": "application/json" },
        }),
      );
      if (Either.isLeft(lenient)) {
        return {
          _tag: "Invalid",
          problem: strict.left.message,
          issues: [],
        } satisfies Outcome<D> as Outcome<D>;
      }
      json = lenient.right;
      problem = strict.left.message;
    }
    const decoded = yield* Effect.either(decode(json));
    if (Either.isLeft(decoded)) {
      return {
        _tag: "Invalid",
        problem: "the document is not valid",
        issues: decoded.left.issues,
      } satisfies Outcome<D> as Outcome<D>;
    }
    return {
      _tag: "Document",
      document: decoded.right,
      problem,
    } satisfies Outcome<D> as Outcome<D>;
  });

/** One location, redirects followed up to maxRedirectHops, every hop recorded. */
const lookUp = <D, S extends string>(
  url: string,
  source: S,
  decode: (json: unknown) => Effect.Effect<D, { readonly issues: readonly string[] }>,
  deadline: number,
  budgetMillis: number,
) =>
  Effect.gen(function* () {
    const hops: Hop[] = [];
    let current = url;
    const end = (outcome: Outcome<D>): Lookup<D, S> => ({ url, source, hops, outcome });
    for (let hop = 0; hop <= maxRedirectHops; hop++) {
      const sent = yield* sendWithin(deadline, budgetMillis, { method: "GET", url: current });
      if (sent._tag === "NotSent") {
        const problem = notSent(budgetMillis);
        hops.push({ method: "GET", url: current, failure: { tag: "NotSent", message: problem } });
        return end({ _tag: "Failed", problem });
      }
      if (Either.isLeft(sent)) {
        const error = sent.left;
        hops.push(failedHop("GET", current, error));
        if (error._tag !== "UnexpectedRedirect")
          return end({ _tag: "Failed", problem: error.message });
        if (
          error.location === undefined ||
          error.location === "(unparseable)" ||
          error.location === current
        )
          return end({ _tag: "Failed", problem: `${error.status} without a usable Location` });
        current = error.location;
        continue;
      }
      const response = sent.right;
      hops.push(hopOf("GET", current, response));
      if (response.status === 200) return end(yield* readDocument<D>(response, decode));
      if (response.status >= 400 && response.status < 500)
        return end({ _tag: "Absent", status: response.status });
      return end({ _tag: "Failed", problem: `answered ${response.status}` });
    }
    return end({ _tag: "Failed", problem: `more than ${maxRedirectHops} redirects` });
  });

const decodePrm = (url: string) =>
  decodeDocument(ProtectedResourceMetadata, "protected-resource metadata", url);
const decodeAsm = (url: string) =>
  decodeDocument(AuthorizationServerMetadata, "authorization-server metadata", url);

/** Every metadata location of one issuer (all of them: the judge compares the forms). */
const probeAuthServer = (
  issuer: string,
  policy: ProbeRecord["policy"],
  deadline: number,
  budgetMillis: number,
) =>
  Effect.gen(function* () {
    const refused = checkTransportSecurity(issuer, policy);
    if (refused !== undefined)
      return { issuer, refused: refused.reason, lookups: [] } satisfies AuthServerRecord;
    const lookups = [];
    for (const candidate of authorizationServerMetadataUrls(issuer)) {
      lookups.push(
        yield* lookUp(
          candidate.url,
          candidate.kind,
          decodeAsm(candidate.url),
          deadline,
          budgetMillis,
        ),
      );
    }
    return { issuer, lookups } satisfies AuthServerRecord;
  });

/**
 * The probe's failure with the URL the user gave as the report shows URLs (query values hidden,
 * userinfo dropped): a server URL may carry a key in its query, and this error is printed — an
 * unreachable server, a refused or unusable URL.
 */
const withShownUrl = <E extends object>(error: E): E => {
  const { _tag: _, ...fields } = { ...error } as Record<string, unknown>;
  let changed = false;
  for (const name of ["url", "input"]) {
    const value = fields[name];
    if (typeof value === "string" && shownUrl(value) !== value) {
      fields[name] = shownUrl(value);
      changed = true;
    }
  }
  if (!changed) return error;
  const Rebuilt = error.constructor as new (fields: Record<string, unknown>) => E;
  return new Rebuilt(fields);
};

/**
 * Probes an MCP server's authorization: the unauthenticated request, every protected-resource
 * metadata location, and every metadata location of each authorization server it names (or of
 * its origin, as a 2025-03-26 client would, when it has no protected-resource metadata).
 * Requires OAuthHttp with `probePolicy(serverUrl)`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.1
 * @see https://modelcontextprotocol.io/specification/2025-03-26/basic/authorization#fallbacks-for-servers-without-metadata-discovery
 */
export const probeServer = Effect.fn("probeServer")(function* (
  serverUrl: string,
  options: ProbeOptions = {},
) {
  const budgetMillis = options.budgetMillis ?? defaultProbeBudgetMillis;
  const deadline = (yield* Clock.currentTimeMillis) + budgetMillis;
  const canonical = canonicalResourceUri(serverUrl);
  if (!canonical.ok)
    return yield* new InvalidResourceUri({ input: serverUrl, reason: canonical.reason });
  const userTyped = checkTransportSecurity(serverUrl, {
    allowInsecureLoopback: true,
    allowPrivateNetwork: true,
  });
  if (userTyped !== undefined) return yield* userTyped;
  const policy = (yield* OAuthHttp).policy;
  const effectivePolicy = {
    allowInsecureLoopback: policy.allowInsecureLoopback,
    allowPrivateNetwork: policy.allowPrivateNetwork ?? policy.allowInsecureLoopback,
  };
  const challenge = yield* askServer(serverUrl, deadline, budgetMillis);
  const { candidates } = protectedResourceMetadataUrls(
    serverUrl,
    challenge.challenge?.resourceMetadata,
  );
  const resourceMetadata = [];
  for (const candidate of candidates) {
    resourceMetadata.push(
      yield* lookUp(
        candidate.url,
        candidate.source,
        decodePrm(candidate.url),
        deadline,
        budgetMillis,
      ),
    );
  }
  const prm = firstDocument(resourceMetadata);
  const legacy = prm === undefined;
  const issuers = legacy
    ? [new URL(serverUrl).origin]
    : [...new Set(prm.document.authorization_servers ?? [])].slice(0, maxAuthorizationServers);
  const authorizationServers = [];
  for (const issuer of issuers)
    authorizationServers.push(
      yield* probeAuthServer(issuer, effectivePolicy, deadline, budgetMillis),
    );
  return {
    serverUrl,
    canonical: canonical.uri,
    challenge,
    resourceMetadata,
    legacy,
    authorizationServers,
    policy: effectivePolicy,
  } satisfies ProbeRecord;
}, Effect.mapError(withShownUrl));
