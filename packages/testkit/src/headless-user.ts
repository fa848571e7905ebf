/**
 * The headless user: plays the browser step of an authorization against the testkit's AS over
 * plain HTTP (fetch with manual redirects and a cookie jar), answering the login and consent
 * prompts through the AS's own interaction routes according to its policy.
 */
import type { HeadlessUser, HeadlessUserPolicy } from "./types.js";

interface StoredCookie {
  readonly value: string;
  readonly path: string;
  readonly expires: number | undefined;
}

/** Just enough of RFC 6265 for one origin: name, value, Path, Max-Age/Expires. */
class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = "/";
      let expires: number | undefined;
      for (const attribute of attributes) {
        const [rawKey = "", ...rawValue] = attribute.split("=");
        const key = rawKey.trim().toLowerCase();
        const v = rawValue.join("=").trim();
        if (key === "path" && v.startsWith("/")) path = v;
        else if (key === "max-age") expires = Date.now() + Number(v) * 1000;
        else if (key === "expires" && expires === undefined) expires = Date.parse(v);
      }
      const key = `${name}\u0000${path}`;
      if (expires !== undefined && expires <= Date.now()) this.#cookies.delete(key);
      else this.#cookies.set(key, { value, path, expires });
    }
  }

  header(path: string): string | undefined {
    const now = Date.now();
    const pairs: string[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expires !== undefined && cookie.expires <= now) continue;
      const matches =
        path === cookie.path ||
        (path.startsWith(cookie.path) &&
          (cookie.path.endsWith("/") || path[cookie.path.length] === "/"));
      if (matches) pairs.push(`${key.slice(0, key.indexOf("\u0000"))}=${cookie.value}`);
    }
    return pairs.length > 0 ? pairs.join("; ") : undefined;
  }

  clear(): void {
    this.#cookies.clear();
  }
}

interface PromptView {
  readonly uid: string;
  readonly prompt: { readonly name: string };
}

export interface HeadlessUserSetup {
  readonly authServerOrigin: string;
  /** Path prefix of the interaction routes, e.g. "/tenant1/interaction/". */
  readonly interactionPrefix: string;
  readonly policy: HeadlessUserPolicy;
  readonly accountId?: string;
}

const MAX_STEPS = 12;

export class HeadlessUserAgent implements HeadlessUser {
  policy: HeadlessUserPolicy;
  #authorizations = 0;
  readonly #jar = new CookieJar();
  readonly #setup: HeadlessUserSetup;

  constructor(setup: HeadlessUserSetup) {
    this.#setup = setup;
    this.policy = setup.policy;
  }

  get authorizations(): number {
    return this.#authorizations;
  }

  resetSession(): void {
    this.#jar.clear();
  }

  async authorize(authorizationUrl: string): Promise<string> {
    const start = new URL(authorizationUrl);
    if (start.origin !== this.#setup.authServerOrigin) {
      throw new Error(
        `headless user only talks to the testkit AS (${this.#setup.authServerOrigin}), not ${start.origin}`,
      );
    }
    let response = await this.#request(start, "GET");
    for (let step = 0; step < MAX_STEPS; step++) {
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || location === null) {
        const text = await response.text();
        throw new Error(
          `authorization did not redirect (HTTP ${response.status}): ${text.slice(0, 500)}`,
        );
      }
      await response.body?.cancel();
      const next = new URL(location, response.url || start);
      if (next.origin !== this.#setup.authServerOrigin) {
        this.#authorizations++;
        return next.href;
      }
      if (next.pathname.startsWith(this.#setup.interactionPrefix)) {
        response = await this.#interact(next);
      } else {
        response = await this.#request(next, "GET");
      }
    }
    throw new Error(`authorization did not finish within ${MAX_STEPS} redirects`);
  }

  async enterUserCode(verificationUri: string, userCode: string): Promise<void> {
    const page = new URL(verificationUri);
    if (page.origin !== this.#setup.authServerOrigin) {
      throw new Error(
        `headless user only talks to the testkit AS (${this.#setup.authServerOrigin}), not ${page.origin}`,
      );
    }
    // The code entry page opens a session and hands out its form secret (xsrf).
    const entry = await readDevicePage(await this.#request(page, "GET"), "user_code");
    const confirm = await readDevicePage(
      await this.#request(page, "POST", { form: { xsrf: entry.xsrf ?? "", user_code: userCode } }),
      "confirm",
    );
    if (this.policy.grant === "deny") {
      // The confirmation page's Abort button: the device code then polls access_denied.
      await readDevicePage(
        await this.#request(page, "POST", {
          form: { xsrf: confirm.xsrf ?? "", user_code: userCode, abort: "yes" },
        }),
        "user_code",
      );
      this.#authorizations++;
      return;
    }
    let response = await this.#request(page, "POST", {
      form: { xsrf: confirm.xsrf ?? "", user_code: userCode, confirm: "yes" },
    });
    for (let step = 0; step < MAX_STEPS; step++) {
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || location === null) {
        await readDevicePage(response, "success");
        this.#authorizations++;
        return;
      }
      await response.body?.cancel();
      const next = new URL(location, response.url || page);
      if (next.origin !== this.#setup.authServerOrigin) {
        throw new Error(`the device flow left the AS (${next.origin})`);
      }
      response = next.pathname.startsWith(this.#setup.interactionPrefix)
        ? await this.#interact(next)
        : await this.#request(next, "GET");
    }
    throw new Error(`the device flow did not finish within ${MAX_STEPS} redirects`);
  }

  /** Reads the pending prompt and answers it per policy; returns the AS's redirect response. */
  async #interact(url: URL): Promise<Response> {
    const view = await this.#request(url, "GET");
    if (view.status !== 200) {
      throw new Error(`interaction failed (HTTP ${view.status}): ${await view.text()}`);
    }
    const prompt = (await view.json()) as PromptView;
    const base = `${url.origin}${this.#setup.interactionPrefix}${encodeURIComponent(prompt.uid)}`;
    const policy = this.policy;
    if (policy.grant === "deny") {
      return this.#request(new URL(`${base}/abort`), "POST", { json: {} });
    }
    if (prompt.prompt.name === "login") {
      return this.#request(new URL(`${base}/login`), "POST", {
        json: { accountId: this.#setup.accountId ?? "headless-user" },
      });
    }
    if (prompt.prompt.name === "consent") {
      const decline = policy.grant === "all-but" ? [...policy.decline] : [];
      return this.#request(new URL(`${base}/confirm`), "POST", { json: { decline } });
    }
    throw new Error(`headless user cannot answer the "${prompt.prompt.name}" prompt`);
  }

  async #request(
    url: URL,
    method: "GET" | "POST",
    body?: { readonly json: unknown } | { readonly form: Readonly<Record<string, string>> },
  ): Promise<Response> {
    const headers = new Headers({ accept: "application/json" });
    const cookie = this.#jar.header(url.pathname);
    if (cookie !== undefined) headers.set("cookie", cookie);
    const init: RequestInit = { method, headers, redirect: "manual" };
    if (body !== undefined && "json" in body) {
      headers.set("content-type", "application/json");
      init.body = JSON.stringify(body.json);
    } else if (body !== undefined) {
      headers.set("content-type", "application/x-www-form-urlencoded");
      init.body = new URLSearchParams(body.form).toString();
    }
    const response = await fetch(url, init);
    this.#jar.store(response);
    return response;
  }
}

interface DevicePage {
  readonly page: string;
  readonly xsrf?: string;
  readonly error?: string;
}

/** The testkit AS answers its device pages as JSON (auth-server.ts `deviceFlow` sources). */
async function readDevicePage(response: Response, expected: string): Promise<DevicePage> {
  const text = await response.text();
  let page: DevicePage | undefined;
  try {
    page = JSON.parse(text) as DevicePage;
  } catch {
    page = undefined;
  }
  if (response.status !== 200 || page?.page !== expected) {
    throw new Error(
      `device page "${expected}" expected (HTTP ${response.status}): ${text.slice(0, 300)}`,
    );
  }
  return page;
}
