/**
 * Policy type → adapter. A Record over PolicyType: adding a policy type without an entry does not compile.
 * `relay: true` maps to the local adapter whatever the type (spec §6: the master receives the bytes).
 */
import { EngineError } from '../errors.js';
import type { PolicyType, StoragePolicy } from '../api/types.js';
import type { AdapterContext, PolicyAdapter } from './adapter.js';
import { localAdapter } from './local.js';
import { remoteAdapter } from './remote.js';

export type AdapterFactory = (ctx: AdapterContext) => PolicyAdapter;

export function unsupported(kind: string): EngineError {
  return new EngineError('permission', `uploads to "${kind}" storage policies are not supported yet (ask the admin to enable relay on the policy, or use a local/remote policy)`);
}

export const ADAPTERS: Record<PolicyType, AdapterFactory | null> = {
  local: localAdapter,
  remote: remoteAdapter,
  s3: null,
  ks3: null,
  oss: null,
  cos: null,
  obs: null,
  onedrive: null,
  qiniu: null,
  upyun: null,
};

export function adapterFor(policy: StoragePolicy, ctx: AdapterContext): PolicyAdapter {
  if (policy.relay) return localAdapter(ctx);
  const factory = ADAPTERS[policy.type];
  if (!factory) throw unsupported(policy.type);
  return factory(ctx);
}
