/**
 * oidc-provider storage for one testkit: plain Maps, no timers, nothing shared between testkits
 * (oidc-provider's bundled adapter is a process-wide LRU of 1000 entries).
 */
import type { Adapter, AdapterPayload } from "oidc-provider";

interface Entry {
  payload: AdapterPayload;
  readonly expiresAt: number | undefined;
}

export interface MemoryAdapterFactory {
  (model: string): Adapter;
  /** Deletes every stored entry of one model (e.g. "RefreshToken"): as if an admin revoked them. */
  dropModel(model: string): void;
}

export function memoryAdapterFactory(): MemoryAdapterFactory {
  const entries = new Map<string, Entry>();
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  const byGrant = new Map<string, Set<string>>();

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  const factory = (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        entries.set(key, {
          payload: { ...payload },
          expiresAt: typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : undefined,
        });
        if (typeof payload.uid === "string") byUid.set(payload.uid, id);
        if (typeof payload.userCode === "string") byUserCode.set(payload.userCode, id);
        if (typeof payload.grantId === "string") {
          let members = byGrant.get(payload.grantId);
          if (members === undefined) {
            members = new Set();
            byGrant.set(payload.grantId, members);
          }
          members.add(key);
        }
      },
      async find(id) {
        return live(keyOf(id))?.payload;
      },
      async findByUid(uid) {
        const id = byUid.get(uid);
        return id === undefined ? undefined : live(keyOf(id))?.payload;
      },
      async findByUserCode(userCode) {
        const id = byUserCode.get(userCode);
        return id === undefined ? undefined : live(keyOf(id))?.payload;
      },
      async consume(id) {
        const entry = live(keyOf(id));
        if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
      },
      async destroy(id) {
        entries.delete(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
        byGrant.delete(grantId);
      },
    };
  };
  return Object.assign(factory, {
    dropModel(model: string) {
      for (const key of [...entries.keys()]) if (key.startsWith(`${model}:`)) entries.delete(key);
    },
  });
}
