/**
 * The request an authorized fetch sends, read once from fetch's arguments: its URL, method,
 * headers, a body that can be sent again after an authorization, and the rest of `init` as given
 * (an undici `dispatcher`, `keepalive`, …). The common call — a URL and a string or no body, which
 * is what the MCP SDKs' transports send — is read without building a `Request` or copying a body;
 * anything else goes through `Request`, whose body is buffered once so it can be replayed.
 */

export interface Outgoing {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  /** Replayable: a string, the buffered bytes, or nothing. */
  readonly body: string | ArrayBuffer | undefined;
  readonly signal: AbortSignal | undefined;
  readonly redirect: RequestRedirect;
  /** The caller's other RequestInit fields, passed on to every send; undefined when there are none. */
  readonly rest: RequestInit | undefined;
}

/** Fetch normalizes these methods' case and no other (Fetch standard, "normalize a method"). */
const normalizedMethods = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

const normalizeMethod = (method: string) => {
  const upper = method.toUpperCase();
  return normalizedMethods.has(upper) ? upper : method;
};

/**
 * Does `url` belong to `origin` (scheme://host[:port], as URL.origin spells it)? A URL that starts
 * with the origin followed by "/" has that origin: the authority ends at the first "/". Anything
 * else — another spelling of the same origin included — is parsed.
 */
export const hasOrigin = (url: string, origin: string): boolean => {
  if (url.length > origin.length && url.startsWith(origin) && url[origin.length] === "/")
    return true;
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
};

/**
 * The absolute URL of fetch's first argument — without building a Request when it is an absolute
 * URL string or a URL. A relative one is resolved as fetch would (against the document in a
 * browser; Node refuses it, as fetch does), and anything else is stringified, as fetch does.
 */
export const urlOf = (input: string | URL | Request): string => {
  if (input instanceof URL) return input.href;
  if (input instanceof Request) return input.url;
  const url = String(input);
  return /^[a-z][a-z\d+.-]*:/i.test(url) ? url : new Request(url).url;
};

/** The fast reading applies: a URL, and a string body or none (nothing to buffer, no content-type to infer). */
const isPlain = (input: string | URL | Request, init: RequestInit | undefined) =>
  ((typeof input === "string" && /^https?:/i.test(input)) || input instanceof URL) &&
  (init?.body === undefined || init.body === null || typeof init.body === "string");

/**
 * The request fetch's arguments describe: at once for the common call, else once its body is read.
 * `url` is `urlOf(input)`, when the caller has it already.
 */
export const readOutgoing = (
  input: string | URL | Request,
  init: RequestInit | undefined,
  url: string = urlOf(input),
): Outgoing | Promise<Outgoing> =>
  isPlain(input, init) ? readPlain(url, init) : readBuffered(input, init);

const readPlain = (url: string, init: RequestInit | undefined): Outgoing => {
  const { method, headers, body, signal, redirect, ...rest } = init ?? {};
  const normalized = normalizeMethod(method ?? "GET");
  // What Request would refuse, refused alike (a TypeError, as fetch throws).
  if (body != null && (normalized === "GET" || normalized === "HEAD"))
    throw new TypeError(`a ${normalized} request cannot have a body`);
  return {
    url,
    method: normalized,
    headers: new Headers(headers),
    body: typeof body === "string" ? body : undefined,
    signal: signal ?? undefined,
    redirect: redirect ?? "follow",
    rest: restOrNone(rest),
  };
};

/** The rest of `init`, or undefined when it is empty (the common call: nothing to spread). */
const restOrNone = (rest: RequestInit): RequestInit | undefined =>
  Reflect.ownKeys(rest).length > 0 ? rest : undefined;

const readBuffered = async (
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Outgoing> => {
  const request = new Request(input, init);
  const { method: _m, headers: _h, body: _b, signal: _s, redirect: _r, ...rest } = init ?? {};
  return {
    url: request.url,
    method: request.method,
    headers: new Headers(request.headers),
    // Buffered so that the request can be replayed after an authorization.
    body: request.body === null ? undefined : await request.arrayBuffer(),
    signal: request.signal,
    redirect: request.redirect,
    rest: restOrNone(rest),
  };
};
