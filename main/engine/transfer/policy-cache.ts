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
    try {
      return (await this.client().listPage(folderUri)).storage_policy ?? null;
    } catch (err) {
      if (!(err instanceof EngineError) || err.code !== 'not-found') throw err;
      const parent = parentUri(folderUri);
      if (parent === folderUri) return null;
      // not created yet: uploads there will use its nearest existing ancestor's policy (the folders of a new tree
      // share their parents' lookups through this cache)
      return this.policyFor(parent);
    }
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

  private reading: Promise<boolean> | null = null;

  /** Null when `size` bytes fit (and reserves them), else the quota error. */
  async check(name: string, size: number): Promise<EngineError | null> {
    let fresh = false;
    if (this.stale()) {
      if (!(await this.refresh())) return null; // the server will say 40051 itself if it must
      fresh = true;
    }
    let err = checkQuota(name, size, this.capacity.value, this.capacity.reserved);
    if (err && !fresh && this.now() - this.capacity.at >= 1000) {
      // a "no" from a reading a second or more old is read again before a file fails on it (space may have been
      // freed since); what our admitted uploads reserved stays reserved
      const reserved = this.capacity.reserved;
      if (await this.refresh()) {
        this.capacity.reserved = reserved;
        err = checkQuota(name, size, this.capacity.value, this.capacity.reserved);
      }
    }
    if (!err) this.capacity.reserved += size;
    return err;
  }

  /** Starts reading the capacity if the last reading is too old (uploads are about to ask). */
  warm(): void {
    if (this.stale()) void this.refresh();
  }

  private stale(): boolean {
    return this.now() - this.capacity.at > this.maxAgeMs;
  }

  /** One reading at a time, shared by everyone who asks meanwhile; false when it failed (or no client was at hand). */
  private refresh(): Promise<boolean> {
    if (!this.reading) {
      const reading = (async () => {
        try {
          const value = await this.client().capacity();
          this.capacity = { value, at: this.now(), reserved: 0 };
          return true;
        } catch {
          return false;
        }
      })();
      this.reading = reading;
      // cleared after it settled (never before it was stored, even when it failed at once)
      void reading.then(() => {
        if (this.reading === reading) this.reading = null;
      });
    }
    return this.reading;
  }
}
