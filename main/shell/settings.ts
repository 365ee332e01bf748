/**
 * The desktop app's settings: a JSON file in userData, validated with the same rules the IPC server uses
 * for `setSettings`. Implements the IPC server's SettingsPort; `onChange` applies side effects (engine
 * bandwidth limit, shell menu entries). Fields that fail validation on load fall back to their defaults.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SettingsDto } from '../ipc/contract.js';
import { parseSettingsPatch, type SettingsPort } from '../ipc/server.js';

export const DEFAULT_SETTINGS: Readonly<SettingsDto> = Object.freeze({
  defaultTargetFolderUri: 'cloudreve://my/',
  bandwidthLimit: 0,
  maxActiveFiles: 3,
  chunkConcurrencyCap: 4,
  ifExists: 'rename',
  shellIntegration: false,
});

/** PURE: defaults overlaid with every valid field of `raw`. */
export function normalizeSettings(raw: unknown): SettingsDto {
  const out: SettingsDto = { ...DEFAULT_SETTINGS };
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    try {
      Object.assign(out, parseSettingsPatch({ [key]: value }));
    } catch {
      // keep the default for an invalid or unknown field
    }
  }
  return out;
}

export type SettingsChangeListener = (next: SettingsDto, prev: SettingsDto) => void | Promise<void>;

export class SettingsFile implements SettingsPort {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private current: SettingsDto,
    private readonly onChange: SettingsChangeListener,
  ) {}

  static async load(path: string, onChange: SettingsChangeListener = () => {}): Promise<SettingsFile> {
    let raw: unknown = null;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      // missing or unreadable: start from defaults
    }
    return new SettingsFile(path, normalizeSettings(raw), onChange);
  }

  get(): SettingsDto {
    return { ...this.current };
  }

  async update(patch: Partial<SettingsDto>): Promise<SettingsDto> {
    const prev = this.current;
    const next = normalizeSettings({ ...prev, ...patch });
    this.current = next;
    // Writes are serialised; each writes a temp file and renames it over the old one.
    const run = this.writing.then(() => this.write(next));
    this.writing = run.catch(() => {});
    await run;
    await this.onChange({ ...next }, { ...prev });
    return { ...next };
  }

  private async write(s: SettingsDto): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
