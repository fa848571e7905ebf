/**
 * Redaction for inspection (the Stately inspector, logs): a deep copy where every Redacted value
 * and every member whose name is a secret's becomes "<redacted>". Matches @statelyai/inspect's
 * sanitizeContext / sanitizeEvent, which also call it with undefined.
 */
import { Redacted } from "effect";

const secretNames = new Set([
  "access_token",
  "refresh_token",
  "id_token",
  "code",
  "code_verifier",
  "client_secret",
  "accessToken",
  "refreshToken",
  "codeVerifier",
  "clientSecret",
  "authorization",
  "client_assertion",
  // Grant inputs that are credentials themselves: RFC 7523 §2.1, RFC 8693 §2.1, RFC 8628 §3.2.
  "assertion",
  "subject_token",
  "actor_token",
  "device_code",
  "deviceCode",
  "subjectToken",
  "actorToken",
  "dpop",
  "privateKey",
  "private_key",
]);

/** Deeper than any context or event of this machine; bounds what an arbitrary object costs. */
const maxDepth = 24;

export const redact = (
  value: unknown,
  seen: WeakSet<object> = new WeakSet(),
  depth = 0,
): unknown => {
  if (typeof value === "function") return undefined;
  if (value === null || typeof value !== "object") return value;
  if (Redacted.isRedacted(value)) return "<redacted>";
  if (seen.has(value)) return "[circular]";
  if (depth >= maxDepth) return "[depth]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, seen, depth + 1));
  if (value instanceof Map) {
    const entries: Record<string, unknown> = Object.create(null);
    for (const [key, member] of value) entries[String(key)] = redact(member, seen, depth + 1);
    return entries;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function" && !(value instanceof Error)) {
    return redact((value as { toJSON: () => unknown }).toJSON(), seen, depth + 1);
  }
  // Null prototype: a member named `__proto__` (JSON.parse makes such own members) stays data.
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, member] of Object.entries(value)) {
    out[key] =
      secretNames.has(key) && member !== undefined ? "<redacted>" : redact(member, seen, depth + 1);
  }
  if (value instanceof Error) {
    out.message = value.message;
    if ("_tag" in value) out._tag = (value as { _tag: unknown })._tag;
  }
  return out;
};

export const sanitizeContext = (context: unknown) => redact(context);
export const sanitizeEvent = (event: unknown) => redact(event);
