/**
 * Policy type → adapter. A Record over PolicyType: adding a policy type without an entry does not compile.
 * `relay: true` maps to the local adapter whatever the type (spec §6: the master receives the bytes).
 */
import { EngineError } from '../errors.js';
import type { PolicyType, StoragePolicy } from '../api/types.js';
import type { AdapterContext, PolicyAdapter } from './adapter.js';
import { localAdapter } from './local.js';
import { onedriveAdapter } from './onedrive.js';
import { qiniuAdapter } from './qiniu.js';
import { remoteAdapter } from './remote.js';
import { s3LikeAdapter } from './s3-like.js';
import { upyunAdapter } from './upyun.js';

export type AdapterFactory = (ctx: AdapterContext) => PolicyAdapter;

export function unsupported(kind: string): EngineError {
  return new EngineError('permission', `uploads to "${kind}" storage policies are not supported (ask the admin to enable relay on the policy)`);
}

export const ADAPTERS: Record<PolicyType, AdapterFactory> = {
  local: localAdapter,
  remote: remoteAdapter,
  s3: s3LikeAdapter('s3'),
  ks3: s3LikeAdapter('ks3'),
  oss: s3LikeAdapter('oss'),
  cos: s3LikeAdapter('cos'),
  obs: s3LikeAdapter('obs'),
  onedrive: onedriveAdapter,
  qiniu: qiniuAdapter,
  upyun: upyunAdapter,
};

export function adapterFor(policy: StoragePolicy, ctx: AdapterContext): PolicyAdapter {
  if (policy.relay) return localAdapter(ctx);
  // a type this client does not know (a newer server) arrives as any string
  const factory = (ADAPTERS as Partial<Record<string, AdapterFactory>>)[policy.type];
  if (!factory) throw unsupported(policy.type);
  return factory(ctx);
}
