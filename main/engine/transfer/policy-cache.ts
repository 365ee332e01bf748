/**
 * What the server allows uploads into a folder, cached: the storage policy per folder (one lookup per folder,
 * concurrent callers share it) and the account's capacity (refreshed every few seconds, minus what we reserved).
 */
import type { CloudreveClient } from '../api/client.js';
import type { Capacity, StoragePolicy } from '../api/types.js';
import { parentUri } from '../api/uri.js';
import { EngineError } from '../errors.js';
import { checkQuota } from './preflight.js';

export class PolicyCache {
  private readonly byFolder = new Map<string, Promise<StoragePolicy | null>>();

  constructor(private readonly client: () => CloudreveClient) {}

  /** The policy uploads into a folder use, looked up once per folder (concurrent callers share the lookup). */
  policyFor(folderUri: string): Promise<StoragePolicy | null> {
    let p = this.byFolder.get(folderUri);
    if (!p) {
      p = this.lookUp(folderUri);
      this.byFolder.set(folderUri, p);
      p.catch(() => this.byFolder.delete(folderUri)); // a failed lookup is tried again next time
    }
    return p;
  }

  clear(): void {
    this.byFolder.clear();
  }

  private async lookUp(folderUri: string): Promise<StoragePolicy | null> {
    let uri = folderUri;
    for (let depth = 0; depth < 64; depth++) {
      try {
        return (await this.client().listPage(uri)).storage_policy ?? null;
      } catch (err) {
        if (!(err instanceof EngineError) || err.code !== 'not-found') throw err;
        const parent = parentUri(uri);
        if (parent === uri) return null;
        uri = parent; // not created yet: uploads there will use its nearest existing ancestor's policy
      }
    }
    return null;
  }
}

/** The account's free space as last read (at most `maxAgeMs` old), with the bytes our admitted uploads reserved. */
export class CapacityCache {
  private capacity: { value: Capacity | null; at: number; reserved: number } = { value: null, at: 0, reserved: 0 };

  constructor(
    private readonly client: () => CloudreveClient,
    private readonly maxAgeMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Null when `size` bytes fit (and reserves them), else the quota error. */
  async check(name: string, size: number): Promise<EngineError | null> {
    if (this.now() - this.capacity.at > this.maxAgeMs) {
      try {
        this.capacity = { value: await this.client().capacity(), at: this.now(), reserved: 0 };
      } catch {
        return null; // the server will say 40051 itself if it must
      }
    }
    const err = checkQuota(name, size, this.capacity.value, this.capacity.reserved);
    if (!err) this.capacity.reserved += size;
    return err;
  }
}
