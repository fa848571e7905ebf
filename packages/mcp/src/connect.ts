/**
 * `connect(url)` for either MCP SDK generation: a session (given or created), a client over one
 * of MCP's HTTP transports whose every request goes through the session's authorized fetch, and
 * a failure as a typed error. The SDK-specific parts (which classes, which error names a status)
 * come from an adapter, so that the root export imports @modelcontextprotocol/sdk only and the
 * `/v2` export @modelcontextprotocol/client only.
 *
 * The OAuth is the session's: the SDKs' own `authProvider` is never passed, so a 401 or a 403
 * `insufficient_scope` never reaches the SDK — the session discovers, registers, authorizes,
 * refreshes or steps up, and retries the request (DESIGN "the request loop").
 */
import { createSession, type Session, type SessionOptions } from "@authchart/core";
import {
  connectFailure,
  McpConnectFailed,
  type McpTransportKind,
  type WatchedFetch,
  watchFetch,
} from "./errors.js";

/** How to connect, whichever session is used. */
export interface ConnectChoices {
  /**
   * "auto" (default): Streamable HTTP, falling back to the deprecated HTTP+SSE transport the way
   * the MCP spec's backwards-compatibility section describes; or one explicitly.
   */
  readonly transport?: "auto" | "streamable-http" | "sse";
  readonly clientInfo?: { readonly name: string; readonly version: string };
  readonly signal?: AbortSignal;
}

/** connect creates the session from these options (createSession's, without serverUrl). */
export interface NewSessionOptions extends Omit<SessionOptions, "serverUrl">, ConnectChoices {
  readonly session?: undefined;
}

/** A session of the application's own: connect uses it and does not close it. */
export interface GivenSessionOptions extends ConnectChoices {
  readonly session: Session;
}

export type ConnectOptions = NewSessionOptions | GivenSessionOptions;

/** A connected client of one SDK generation. */
export interface Connection<C> {
  readonly client: C;
  readonly session: Session;
  readonly transport: McpTransportKind;
  /** Closes the client, and the session if connect created it. */
  readonly close: () => Promise<void>;
}

/** A client and its transport, made but not connected yet. */
export interface OpenedClient<C> {
  readonly client: C;
  /** `client.connect(transport, { signal, timeout })`. */
  readonly connect: (options: {
    readonly signal?: AbortSignal;
    readonly timeout: number;
  }) => Promise<void>;
  readonly close: () => Promise<void>;
}

/** What differs between the SDK generations. */
export interface SdkAdapter<C> {
  readonly open: (
    kind: McpTransportKind,
    url: URL,
    fetch: typeof globalThis.fetch,
    clientInfo: { readonly name: string; readonly version: string },
  ) => OpenedClient<C>;
  /** The HTTP status an SDK transport error names, if it names one. */
  readonly httpStatus: (error: unknown) => number | undefined;
}

export const defaultClientInfo = { name: "authchart", version: "0.1.0" } as const;

/** The MCP SDKs' default request timeout (DEFAULT_REQUEST_TIMEOUT_MSEC in both generations). */
const sdkRequestTimeoutMillis = 60_000;

/**
 * MCP "Transports", backwards compatibility: a POST of the InitializeRequest failing with 400,
 * 404 or 405 means an old server; the client then opens the HTTP+SSE stream with a GET.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#backwards-compatibility
 */
const legacyServerStatuses: ReadonlySet<number> = new Set([400, 404, 405]);

/**
 * `promise`, or a rejection with the signal's reason as soon as it aborts (as fetch does).
 */
const abortable = <A>(promise: Promise<A>, signal: AbortSignal | undefined): Promise<A> => {
  if (signal === undefined) return promise;
  return new Promise<A>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
};

/**
 * Connects over one transport. A failure closes the client and its transport — the SSE
 * transport's EventSource would otherwise reconnect, and through the session ask the user again
 * — and is thrown as a typed error (an abort as the signal's reason).
 */
const attempt = async <C>(
  adapter: SdkAdapter<C>,
  kind: McpTransportKind,
  url: string,
  watched: WatchedFetch,
  options: ConnectOptions,
  timeout: number,
): Promise<OpenedClient<C>> => {
  watched.reset();
  const opened = adapter.open(
    kind,
    new URL(url),
    watched.fetch,
    options.clientInfo ?? defaultClientInfo,
  );
  try {
    const { signal } = options;
    await abortable(opened.connect(signal ? { signal, timeout } : { timeout }), signal);
    return opened;
  } catch (error) {
    await opened.close().catch(() => undefined);
    if (options.signal?.aborted) throw options.signal.reason;
    throw connectFailure(error, {
      url,
      transport: kind,
      status: adapter.httpStatus(error),
      watched,
    });
  }
};

/** createSession's options: connect's, without connect's own choices. */
const sessionOptionsOf = (options: NewSessionOptions, serverUrl: string): SessionOptions => {
  const { transport: _, clientInfo: __, session: ___, signal: ____, ...sessionOptions } = options;
  return { ...sessionOptions, serverUrl };
};

export const connectWith = async <C>(
  adapter: SdkAdapter<C>,
  url: string,
  options: ConnectOptions,
): Promise<Connection<C>> => {
  options.signal?.throwIfAborted();
  const transport = options.transport ?? "auto";
  const owned = options.session === undefined;
  const session =
    options.session !== undefined
      ? options.session
      : await createSession(sessionOptionsOf(options, url));
  const closeSession = () => (owned ? session.close() : Promise.resolve());
  const watched = watchFetch(session);
  // The initialize request may wait for the user at the authorization server: the SDK's default
  // request timeout (60 s) is shorter than a sign-in may take, so the session's own browser
  // timeout is allowed on top of it — only where a user can be asked at all.
  const { config } = session.state().context;
  const timeout =
    config.interaction === "never"
      ? sdkRequestTimeoutMillis
      : config.authorizationTimeoutMillis + sdkRequestTimeoutMillis;

  const over = async (
    kind: McpTransportKind,
    fallback?: McpTransportKind,
  ): Promise<Connection<C>> => {
    try {
      const opened = await attempt(adapter, kind, url, watched, options, timeout);
      return {
        client: opened.client,
        session,
        transport: kind,
        close: async () => {
          await opened.close().catch(() => undefined);
          await closeSession();
        },
      };
    } catch (error) {
      // Only an old server's answer moves on to HTTP+SSE; anything else is the answer.
      const legacy =
        error instanceof McpConnectFailed &&
        error.status !== undefined &&
        legacyServerStatuses.has(error.status);
      if (fallback !== undefined && legacy) return over(fallback);
      throw error;
    }
  };

  try {
    return await (transport === "auto" ? over("streamable-http", "sse") : over(transport));
  } catch (error) {
    await closeSession().catch(() => undefined);
    throw error;
  }
};
