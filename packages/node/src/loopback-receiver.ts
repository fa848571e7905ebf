/**
 * The loopback redirect receiver (RFC 8252 §7.3, §8.3): a one-shot HTTP server on the loopback
 * interface that waits for the authorization server's redirect and resolves with the full
 * callback URL. authchart's authorize step validates code, state and iss itself
 * (`validateCallback` in @authchart/core); this module only decides which request *is* the
 * callback.
 *
 * Decisions:
 * - Addresses: `127.0.0.1` for an IPv4 literal, `::1` for `[::1]`, both for `localhost` (RFC 8252
 *   §8.3 calls `localhost` NOT RECOMMENDED because it may resolve to either; a host without IPv6
 *   just skips `::1`). Never a wildcard address.
 * - Port: the one the redirect URI names, or an ephemeral one for port 0 — bound before the
 *   authorization request is built, so that the request can name it (RFC 8252 §7.3; core asks
 *   the user agent to prepare the endpoint first). With several candidate redirect URIs they are
 *   tried in order; when every port is taken the failure is a typed
 *   `LoopbackPortInUse` naming the ports — never a silent move to a port the authorization server
 *   does not know.
 * - Which request is the callback: a GET on exactly the redirect URI's path (no prefix or
 *   trailing-slash match), with the expected `Host` (a DNS-rebinding page cannot talk to it) and,
 *   when the flow's `state` is known, carrying that state (a receiver bound before the request
 *   exists learns it with `expectState`; with `requireState`, nothing is the callback until
 *   then). A request with another or no state is
 *   answered with an error page and does NOT end the wait: anything on this machine can reach a
 *   loopback port, and a stray or stale request (an old tab, a port scanner) must not be able to
 *   cancel the user's sign-in. Core re-checks the state of what this resolves with.
 * - One shot: after the callback the server answers the browser, then closes. It never
 *   redirects; every page is static text, HTML-escaped, under a CSP that forbids everything.
 * - It ends with the callback, the timeout (`CallbackTimeout`), the AbortSignal (rejects with its
 *   reason) or `close()` (`ReceiverClosed`); each path clears the timer, removes the abort listener
 *   and closes the servers.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Schema } from "effect";

/** A redirect URI this machine cannot serve: not http, not a loopback literal, userinfo, ... */
export class InvalidRedirectUri extends Schema.TaggedError<InvalidRedirectUri>()(
  "InvalidRedirectUri",
  { redirectUri: Schema.String, reason: Schema.String },
) {
  override get message() {
    return `the redirect URI ${this.redirectUri} cannot be served by the loopback receiver: ${this.reason}`;
  }
}

/** Every port the registered redirect URI(s) name is taken by another program. */
export class LoopbackPortInUse extends Schema.TaggedError<LoopbackPortInUse>()(
  "LoopbackPortInUse",
  { host: Schema.String, ports: Schema.Array(Schema.Number) },
) {
  override get message() {
    const ports = this.ports.join(", ");
    return `port ${ports} on ${this.host} is in use by another program; the registered redirect URI names it, so the callback cannot be received elsewhere (free the port or register another redirect URI)`;
  }
}

/** Listening failed for another reason than a taken port (EACCES on a privileged port, ...). */
export class LoopbackListenFailed extends Schema.TaggedError<LoopbackListenFailed>()(
  "LoopbackListenFailed",
  { host: Schema.String, port: Schema.Number, code: Schema.String },
) {
  override get message() {
    return `cannot listen on ${this.host} port ${this.port} (${this.code})`;
  }
}

/** No callback arrived in time. */
export class CallbackTimeout extends Schema.TaggedError<CallbackTimeout>()("CallbackTimeout", {
  timeoutMillis: Schema.Number,
}) {
  override get message() {
    return `no authorization response reached the redirect URI within ${Math.round(this.timeoutMillis / 1000)}s`;
  }
}

/** `close()` was called before a callback arrived. */
export class ReceiverClosed extends Schema.TaggedError<ReceiverClosed>()("ReceiverClosed", {}) {
  override get message() {
    return "the loopback receiver was closed before the authorization response arrived";
  }
}

/** A redirect URI the receiver can serve. */
export interface LoopbackEndpoint {
  readonly url: URL;
  /** Addresses to bind: `127.0.0.1`, `::1`, or both for `localhost`. */
  readonly addresses: readonly string[];
  /** 0: an ephemeral port. */
  readonly port: number;
  readonly path: string;
}

/**
 * Reads a redirect URI as a loopback endpoint: `http`, host `127.0.0.1`, `[::1]` or `localhost`,
 * no userinfo, no fragment.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 * @throws InvalidRedirectUri
 */
export const parseLoopbackRedirectUri = (redirectUri: string): LoopbackEndpoint => {
  const invalid = (reason: string) => new InvalidRedirectUri({ redirectUri, reason });
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    throw invalid("it is not a URL");
  }
  if (url.protocol !== "http:") throw invalid("a loopback redirect URI uses http (RFC 8252 §7.3)");
  if (url.username !== "" || url.password !== "") throw invalid("it carries userinfo");
  if (url.hash !== "") throw invalid("it carries a fragment (RFC 6749 §3.1.2)");
  const addresses =
    url.hostname === "127.0.0.1"
      ? ["127.0.0.1"]
      : url.hostname === "[::1]"
        ? ["::1"]
        : url.hostname === "localhost"
          ? ["127.0.0.1", "::1"]
          : undefined;
  if (addresses === undefined) {
    throw invalid("its host is not 127.0.0.1, [::1] or localhost");
  }
  return { url, addresses, port: url.port === "" ? 80 : Number(url.port), path: url.pathname };
};

/** What a request (or a pasted URL) is, relative to the flow that waits. */
export type CallbackVerdict = "callback" | "wrong-endpoint" | "wrong-state";

/**
 * One classifier for the receiver and the paste prompt: a callback arrives at exactly the redirect
 * URI's origin and path and, when the flow's state is known, carries it (RFC 6749 §10.12).
 */
export const classifyCallback = (
  candidate: URL,
  expected: { readonly redirectUri: URL; readonly state?: string | undefined },
): CallbackVerdict => {
  if (
    candidate.origin !== expected.redirectUri.origin ||
    candidate.pathname !== expected.redirectUri.pathname
  ) {
    return "wrong-endpoint";
  }
  if (expected.state !== undefined && candidate.searchParams.get("state") !== expected.state) {
    return "wrong-state";
  }
  return "callback";
};

/** Text for HTML element content and attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** A static page: no script, no link, no form, no redirect. Every piece of text is escaped. */
const page = (title: string, paragraphs: readonly string[]) =>
  [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    "</body></html>",
    "",
  ].join("\n");

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  connection: "close",
} as const;

const answer = (
  response: http.ServerResponse,
  status: number,
  title: string,
  paragraphs: readonly string[],
  extra: Readonly<Record<string, string>> = {},
) => {
  const body = page(title, paragraphs);
  response.writeHead(status, {
    ...PAGE_HEADERS,
    ...extra,
    "content-length": String(Buffer.byteLength(body)),
  });
  response.end(body);
};

/** The page for the callback itself: what the authorization server said, in words. */
const callbackPage = (response: http.ServerResponse, callback: URL) => {
  const error = callback.searchParams.get("error");
  if (error === null) {
    answer(response, 200, "Authorization received", [
      "The application has received the authorization response and is finishing the sign-in.",
      "You can close this tab and return to the application.",
    ]);
    return;
  }
  const description = callback.searchParams.get("error_description");
  answer(response, 200, "Authorization not completed", [
    `The authorization server answered: ${clip(error, 100)}${description === null ? "" : ` — ${clip(description, 500)}`}`,
    "You can close this tab and return to the application.",
  ]);
};

export interface LoopbackReceiverOptions {
  /**
   * The registered redirect URI(s), tried in order; the first whose port is free is served. Port
   * 0 means an ephemeral port (then `redirectUri` on the receiver names the real one).
   */
  readonly redirectUris: readonly [string, ...string[]];
  /** The flow's `state`: a request without it is answered with an error page and ignored. */
  readonly state?: string | undefined;
  /**
   * No request is the callback until the flow's state is known (`state`, or `expectState` once
   * the authorization request exists): before the request, anything that arrives is stray.
   */
  readonly requireState?: boolean | undefined;
  /** Default 5 minutes (core's own authorization timeout is also 5 minutes). */
  readonly timeoutMillis?: number | undefined;
  /** Aborting closes the receiver; `callback` rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

export interface LoopbackReceiver {
  /** The redirect URI served, with the real port when an ephemeral one was asked for. */
  readonly redirectUri: string;
  readonly port: number;
  /** The full callback URL (origin and path of `redirectUri`, the query as the browser sent it). */
  readonly callback: Promise<string>;
  /**
   * The flow's state, once the authorization request exists (a receiver bound before it): from
   * now on only a request that carries it is the callback (undefined: any state).
   */
  readonly expectState: (state: string | undefined) => void;
  /** Stops listening (after the final page has been sent); idempotent. */
  readonly close: () => Promise<void>;
}

export const DEFAULT_CALLBACK_TIMEOUT_MILLIS = 5 * 60_000;

const errnoCode = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : "unknown error";

const listen = (server: http.Server, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    const onError = (error: unknown) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ port, host, exclusive: true });
  });

const closeServer = (server: http.Server) =>
  new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** Binds every address of the endpoint on one port; undefined when that port is taken. */
const bind = async (
  endpoint: LoopbackEndpoint,
  handler: http.RequestListener,
): Promise<{ servers: http.Server[]; port: number } | undefined> => {
  // An ephemeral port for `localhost` must be free on both addresses: a few attempts.
  for (let attempt = 0; attempt < (endpoint.port === 0 ? 5 : 1); attempt++) {
    const servers: http.Server[] = [];
    let port = endpoint.port;
    let taken = false;
    for (const [index, address] of endpoint.addresses.entries()) {
      const server = http.createServer(handler);
      server.headersTimeout = 10_000;
      server.requestTimeout = 10_000;
      try {
        port = await listen(server, port, address);
        servers.push(server);
      } catch (error) {
        const code = errnoCode(error);
        // `localhost` on a host without IPv6: 127.0.0.1 alone serves it.
        if (index > 0 && (code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT")) continue;
        await Promise.all(servers.map(closeServer));
        if (code === "EADDRINUSE") {
          taken = true;
          break;
        }
        throw new LoopbackListenFailed({ host: address, port, code });
      }
    }
    if (!taken) return { servers, port };
  }
  return undefined;
};

/**
 * Starts listening for one authorization response. Rejects with `InvalidRedirectUri`,
 * `LoopbackPortInUse` (naming every port tried) or `LoopbackListenFailed`; the returned
 * `callback` rejects with `CallbackTimeout`, `ReceiverClosed` or the abort reason.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export const startLoopbackReceiver = async (
  options: LoopbackReceiverOptions,
): Promise<LoopbackReceiver> => {
  const endpoints = options.redirectUris.map(parseLoopbackRedirectUri);
  const signal = options.signal;
  signal?.throwIfAborted();
  const timeoutMillis = options.timeoutMillis ?? DEFAULT_CALLBACK_TIMEOUT_MILLIS;

  let settled = false;
  let resolveCallback!: (url: string) => void;
  let rejectCallback!: (error: unknown) => void;
  const callback = new Promise<string>((resolve, reject) => {
    resolveCallback = resolve;
    rejectCallback = reject;
  });
  // Whoever holds the receiver may only await close(); the rejection is still delivered to them.
  callback.catch(() => undefined);
  /** Resolves once the final page has been written (or its socket died). */
  let finalPage: Promise<void> = Promise.resolve();
  // Set once bound; requests cannot arrive before.
  let served: URL | undefined;
  let expectedState = options.state;
  let stateKnown = options.state !== undefined || options.requireState !== true;

  const handler: http.RequestListener = (request, response) => {
    const redirectUri = served;
    if (redirectUri === undefined) {
      response.destroy();
      return;
    }
    if (settled) {
      answer(response, 410, "Sign-in already finished", [
        "This sign-in has already received its answer. You can close this tab.",
      ]);
      return;
    }
    // The Host the browser sends for the redirect URI; anything else is another site's page
    // reaching this port through DNS rebinding.
    if (request.headers.host !== redirectUri.host) {
      answer(response, 421, "Wrong address", ["This address does not serve this request."]);
      return;
    }
    if (request.method !== "GET") {
      answer(response, 405, "Method not allowed", ["Only GET is served here."], { allow: "GET" });
      return;
    }
    const target = request.url ?? "";
    let url: URL;
    try {
      // Origin-form only: the origin is the redirect URI's, never a client-supplied one.
      if (!target.startsWith("/")) throw new Error("not origin-form");
      url = new URL(`${redirectUri.origin}${target}`);
    } catch {
      answer(response, 400, "Bad request", ["This request could not be read."]);
      return;
    }
    const verdict = classifyCallback(url, { redirectUri, state: expectedState });
    switch (verdict === "callback" && !stateKnown ? "wrong-state" : verdict) {
      case "wrong-endpoint":
        answer(response, 404, "Not found", ["Nothing is served at this address."]);
        return;
      case "wrong-state":
        answer(response, 400, "Not this sign-in", [
          "This response does not belong to the sign-in the application is waiting for, so it was ignored.",
          "If you started a new sign-in, finish it in the tab it opened.",
        ]);
        return;
      case "callback":
        finalPage = new Promise((resolve) => response.once("close", () => resolve()));
        callbackPage(response, url);
        finish(() => resolveCallback(url.href));
        return;
    }
  };

  let servers: http.Server[] = [];
  let chosen: { endpoint: LoopbackEndpoint; port: number } | undefined;
  for (const endpoint of endpoints) {
    const bound = await bind(endpoint, handler);
    if (bound !== undefined) {
      servers = bound.servers;
      chosen = { endpoint, port: bound.port };
      break;
    }
  }
  if (chosen === undefined) {
    throw new LoopbackPortInUse({
      host: [...new Set(endpoints.map((e) => e.url.hostname))].join(", "),
      ports: [...new Set(endpoints.map((e) => e.port))],
    });
  }
  const servedUrl = new URL(chosen.endpoint.url);
  servedUrl.port = String(chosen.port);
  served = servedUrl;

  let closing: Promise<void> | undefined;
  const shutDown = () => {
    closing ??= (async () => {
      // The final page first (it is a few hundred bytes; a stuck socket gets 2 s).
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        finalPage,
        new Promise<void>((resolve) => {
          grace = setTimeout(resolve, 2_000);
        }),
      ]);
      clearTimeout(grace);
      await Promise.all(servers.map(closeServer));
    })();
    return closing;
  };

  const timer = setTimeout(
    () => finish(() => rejectCallback(new CallbackTimeout({ timeoutMillis }))),
    timeoutMillis,
  );
  const onAbort = () => finish(() => rejectCallback(signal?.reason));
  signal?.addEventListener("abort", onAbort, { once: true });

  /** Settles once: clears the timer and the abort listener, closes the servers. */
  function finish(settle: () => void) {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    settle();
    void shutDown();
  }

  if (signal?.aborted) onAbort();

  return {
    redirectUri: servedUrl.href,
    port: chosen.port,
    callback,
    expectState: (state) => {
      expectedState = state;
      stateKnown = true;
    },
    close: () => {
      finish(() => rejectCallback(new ReceiverClosed()));
      return shutDown();
    },
  };
};
