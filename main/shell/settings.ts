/**
 * The desktop app's settings: the engine's settings store, validated with the same rules the IPC server uses
 * for `setSettings`. Implements the IPC server's SettingsPort; `onChange` applies side effects (engine
 * bandwidth limit, shell menu entries). Fields that fail validation on load fall back to their defaults.
 */
import { DEFAULT_SETTINGS as ENGINE_DEFAULTS, openConfig, type Settings, type SettingsStore } from '../engine/config.js';
import type { Engine } from '../engine/index.js';
import type { SettingsDto } from '../ipc/contract.js';
import { parseSettingsPatch, type SettingsPort } from '../ipc/server.js';

export const DEFAULT_SETTINGS: Readonly<SettingsDto> = Object.freeze({
  defaultTargetFolderUri: ENGINE_DEFAULTS.defaultTargetFolderUri,
  bandwidthLimit: ENGINE_DEFAULTS.bandwidthLimit,
  downloadBandwidthLimit: ENGINE_DEFAULTS.downloadBandwidthLimit,
  maxActiveFiles: ENGINE_DEFAULTS.maxActiveFiles,
  chunkConcurrencyCap: ENGINE_DEFAULTS.chunkConcurrencyCap,
  ifExists: ENGINE_DEFAULTS.ifExists,
  shellIntegration: ENGINE_DEFAULTS.shellIntegration,
  uploadWithoutAsking: ENGINE_DEFAULTS.uploadWithoutAsking,
  launchAtLogin: ENGINE_DEFAULTS.launchAtLogin,
  settleDelayMs: ENGINE_DEFAULTS.settleDelayMs,
  language: ENGINE_DEFAULTS.language,
  theme: ENGINE_DEFAULTS.theme,
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

/** The engine settings a change from the window applies at once (to what starts from then on). */
export function applyToEngine(
  engine: Pick<Engine, 'setBandwidthLimit' | 'setConcurrency' | 'setIfExists' | 'setSettleDelay'> & { downloads?: Pick<Engine['downloads'], 'setBandwidthLimit'> },
  next: SettingsDto,
  prev: SettingsDto,
): void {
  if (next.bandwidthLimit !== prev.bandwidthLimit) engine.setBandwidthLimit(next.bandwidthLimit);
  if (next.downloadBandwidthLimit !== prev.downloadBandwidthLimit) engine.downloads?.setBandwidthLimit(next.downloadBandwidthLimit);
  if (next.maxActiveFiles !== prev.maxActiveFiles || next.chunkConcurrencyCap !== prev.chunkConcurrencyCap) {
    engine.setConcurrency({ maxActiveFiles: next.maxActiveFiles, chunkConcurrencyCap: next.chunkConcurrencyCap });
  }
  if (next.ifExists !== prev.ifExists) engine.setIfExists(next.ifExists);
  if (next.settleDelayMs !== prev.settleDelayMs) engine.setSettleDelay(next.settleDelayMs);
}

/**
 * The desktop app's view of the engine's settings store (`<home>/config.json`, engine/config.ts): the same file the
 * CLI reads, so one installation has one set of settings.
 */
export class SettingsFile implements SettingsPort {
  private constructor(
    private readonly store: SettingsStore,
    private current: SettingsDto,
    private readonly onChange: SettingsChangeListener,
  ) {}

  static open(home: string, onChange: SettingsChangeListener = () => {}): SettingsFile {
    const store = openConfig(home);
    const stored: Record<string, unknown> = {};
    for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof SettingsDto)[]) stored[key] = store.get(key);
    return new SettingsFile(store, normalizeSettings(stored), onChange);
  }

  get(): SettingsDto {
    return { ...this.current };
  }

  /** The API client timeouts (`timeouts` in config.json; not edited from the window). */
  timeouts(): Settings['timeouts'] {
    return this.store.get('timeouts');
  }

  /** How long uploads wait out a busy server (`busyRetryMinutes` in config.json; not edited from the window). */
  busyRetryMinutes(): Settings['busyRetryMinutes'] {
    return this.store.get('busyRetryMinutes');
  }

  async update(patch: Partial<SettingsDto>): Promise<SettingsDto> {
    const prev = this.current;
    const next = normalizeSettings({ ...prev, ...patch });
    this.current = next;
    this.store.set({ ...next }); // conf writes atomically (temp file + rename), mode 0600
    await this.onChange({ ...next }, { ...prev });
    return { ...next };
  }
}
