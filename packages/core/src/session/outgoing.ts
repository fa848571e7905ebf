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
  /** The caller's headers, names in lower case, values normalized (see headerRecord). */
  readonly headers: HeaderRecord;
  /** Replayable: a string, the buffered bytes, or nothing. */
  readonly body: string | ArrayBuffer | undefined;
  readonly signal: AbortSignal | undefined;
  readonly redirect: RequestRedirect;
  /** The caller's other RequestInit fields, passed on to every send; undefined when there are none. */
  readonly rest: RequestInit | undefined;
}

/** Header fields by lower-case name: what fetch is handed (a plain record costs it less than a Headers). */
export type HeaderRecord = Readonly<Record<string, string>>;

/** RFC 9110 §5.1: a field name is a token. https://www.rfc-editor.org/rfc/rfc9110#section-5.1 */
const fieldName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * What no header value may hold (Fetch standard, "header value": no NUL, CR or LF; WebIDL
 * ByteString: no code point above U+00FF). https://fetch.spec.whatwg.org/#header-value
 */
const forbiddenInValue = /[\0\r\n\u0100-\uffff]/;
/** HTTP whitespace around a value is removed (Fetch standard, "normalize"). */
const isHttpWhitespace = (code: number) =>
  code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/** A header value as fetch would send it, or a TypeError where fetch would throw one. */
export const headerValue = (name: string, value: string): string => {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  const normalized = start === 0 && end === value.length ? value : value.slice(start, end);
  if (forbiddenInValue.test(normalized))
    throw new TypeError(`the value of the ${name} header is not a valid header value`);
  return normalized;
};

/**
 * The caller's HeadersInit as a record — what `new Headers(init)` would hold, without building
 * one: names lower-cased and checked, values normalized and checked, a repeated name's values
 * joined with ", " as Headers.append joins them; a TypeError where the WebIDL conversion of a
 * HeadersInit throws one (not an object, a pair that is no pair, a symbol key or value).
 * https://fetch.spec.whatwg.org/#typedefdef-headersinit
 */
export const headerRecord = (init: HeadersInit | null | undefined): Record<string, string> => {
  const record: Record<string, string> = {};
  if (init == null) return record;
  if (typeof init !== "object" && typeof init !== "function")
    throw new TypeError("headers must be an object: a record, a list of pairs or a Headers");
  if (init instanceof Headers) {
    // Headers yields set-cookie values one by one; any other name comes once, already joined.
    init.forEach((value, name) => {
      define(record, name, Object.hasOwn(record, name) ? `${record[name]}, ${value}` : value);
    });
    return record;
  }
  // A template literal converts as WebIDL's ByteString does (ToString): a symbol is a TypeError.
  const add = (given: unknown, value: unknown) => {
    const name = `${given}`;
    if (!fieldName.test(name)) throw new TypeError(`"${name}" is not a valid header name`);
    const key = name.toLowerCase();
    const normalized = headerValue(key, `${value}`);
    const previous = Object.hasOwn(record, key) ? record[key] : undefined;
    define(record, key, previous === undefined ? normalized : `${previous}, ${normalized}`);
  };
  if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
    for (const pair of init as Iterable<unknown>) {
      if ((typeof pair !== "object" && typeof pair !== "function") || pair === null)
        throw new TypeError("a header must be a [name, value] pair");
      const entry = [...(pair as Iterable<unknown>)];
      if (entry.length !== 2) throw new TypeError("a header must be a [name, value] pair");
      add(entry[0], entry[1]);
    }
    return record;
  }
  const object = init as Record<string | symbol, unknown>;
  for (const key of Object.getOwnPropertySymbols(object))
    if (Object.prototype.propertyIsEnumerable.call(object, key))
      throw new TypeError("a header name must be a string, not a symbol");
  for (const name of Object.keys(object)) add(name, object[name]);
  return record;
};

/**
 * A copy to change: Object.assign (a spread of a record built field by field takes V8's slow path:
 * ~40× the time, measured), with a "__proto__" field copied as a field.
 */
export const copyHeaders = (headers: HeaderRecord): Record<string, string> => {
  const copy: Record<string, string> = Object.assign({}, headers);
  const proto = Object.getOwnPropertyDescriptor(headers, "__proto__");
  if (proto !== undefined) define(copy, "__proto__", proto.value as string);
  return copy;
};

/**
 * What fetch is handed: the record itself — or, holding a "__proto__" field, a Headers (fetch's
 * conversion of a record drops that name, so it would never be sent).
 */
export const wireHeaders = (headers: HeaderRecord): HeadersInit =>
  Object.hasOwn(headers, "__proto__") ? new Headers(Object.entries(headers)) : headers;

/** Fetch standard "request-body-header name", and content-length (fetch sets it; a caller may have). */
const requestBodyHeaders = [
  "content-encoding",
  "content-language",
  "content-location",
  "content-type",
  "content-length",
] as const;
/** Dropped on a redirect to another origin, as fetch drops them (Authorization is the caller's to handle). */
const originBoundHeaders = ["proxy-authorization", "cookie", "host"] as const;

/**
 * The headers of a redirect's next hop, a copy of their own (a fetch that keeps `init` never sees
 * a later hop's changes): what fetch's own redirect handling removes — the body headers when the
 * request turns into a GET, proxy credentials, cookies and Host on a hop to another origin.
 * https://fetch.spec.whatwg.org/#http-redirect-fetch (steps 12–13)
 */
export const headersForRedirect = (
  headers: HeaderRecord,
  hop: { readonly toGet: boolean; readonly crossOrigin: boolean },
): Record<string, string> => {
  const next = copyHeaders(headers);
  if (hop.toGet) for (const name of requestBodyHeaders) delete next[name];
  if (hop.crossOrigin) for (const name of originBoundHeaders) delete next[name];
  return next;
};

/** `record[name] = value`, also for a name like "__proto__" (an own field, never the prototype). */
const define = (record: Record<string, string>, name: string, value: string) => {
  if (name === "__proto__")
    Object.defineProperty(record, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else record[name] = value;
};

/** Fetch normalizes these methods' case and no other (Fetch standard, "normalize a method"). */
const normalizedMethods = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

const normalizeMethod = (method: string) => {
  if (method === "GET" || method === "POST") return method;
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
  if (init === undefined)
    return {
      url,
      method: "GET",
      headers: {},
      body: undefined,
      signal: undefined,
      redirect: "follow",
      rest: undefined,
    };
  const { method, headers, body, signal, redirect, ...rest } = init;
  const normalized = normalizeMethod(method ?? "GET");
  // What Request would refuse, refused alike (a TypeError, as fetch throws).
  if (body != null && (normalized === "GET" || normalized === "HEAD"))
    throw new TypeError(`a ${normalized} request cannot have a body`);
  return {
    url,
    method: normalized,
    headers: headerRecord(headers),
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
    headers: headerRecord(request.headers),
    // Buffered so that the request can be replayed after an authorization.
    body: request.body === null ? undefined : await request.arrayBuffer(),
    signal: request.signal,
    redirect: request.redirect,
    rest: restOrNone(rest),
  };
};
