/**
 * The desktop app's CredentialCodec (engine/api/credentials.ts): the refresh and access tokens are sealed with
 * Electron's safeStorage (the macOS Keychain, Windows DPAPI, the Secret Service / KWallet on Linux) before they reach
 * credentials.json. The engine never sees Electron: main.ts hands this codec in through EngineConfig.
 *
 * Where safeStorage cannot encrypt — no keyring on Linux (`basic_text`: a fixed, public key) or
 * isEncryptionAvailable() false — the user is told and ASKED before the tokens are stored readable by anyone who can
 * read the file (it stays mode 0600). Refused, the login lasts until the app quits. The answer is asked once per run.
 *
 * The CLI cannot open what the app sealed (it is not the app the OS keychain entry belongs to); it says so and asks
 * the user to sign in there too (credentials.ts DESKTOP_SEALED_MESSAGE).
 */
import type { CredentialCodec } from '../engine/index.js';
import { SHELL_TEXT, type ShellText } from './shell-text.js';

export const SAFE_STORAGE_CODEC = 'electron-safeStorage';

export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only */
  getSelectedStorageBackend?(): string;
}

export interface SecretsOptions {
  safeStorage: SafeStorageLike;
  platform: NodeJS.Platform;
  /**
   * Asks the user whether the login may be stored unencrypted (`why` says what is missing); true = store it.
   * main.ts shows a dialog.
   */
  askPlainStorage: (why: string) => Promise<boolean>;
  text?: () => ShellText;
}

/** Why safeStorage cannot protect the tokens here, or null when it can. Call after app 'ready'. */
export function insecureReason(s: SafeStorageLike, platform: NodeJS.Platform, t: ShellText = SHELL_TEXT.en): string | null {
  if (!s.isEncryptionAvailable()) return t.noSecureStorage;
  if (platform === 'linux') {
    const backend = s.getSelectedStorageBackend?.() ?? 'unknown';
    if (backend === 'basic_text' || backend === 'unknown') return t.noKeyring;
  }
  return null;
}

export function createSafeStorageCodec(opts: SecretsOptions): CredentialCodec {
  let plainAnswer: Promise<boolean> | null = null;
  return {
    name: SAFE_STORAGE_CODEC,
    async seal(json) {
      const why = insecureReason(opts.safeStorage, opts.platform, opts.text?.());
      if (why === null) return { store: 'sealed', data: opts.safeStorage.encryptString(json).toString('base64') };
      plainAnswer ??= opts.askPlainStorage(why).catch(() => false);
      return (await plainAnswer) ? { store: 'plain' } : { store: 'memory' };
    },
    async open(data) {
      return opts.safeStorage.decryptString(Buffer.from(data, 'base64'));
    },
  };
}

/** The dialog's words (main.ts passes them to dialog.showMessageBox). */
export function plainStorageQuestion(why: string, t: ShellText = SHELL_TEXT.en): { message: string; detail: string; buttons: [string, string] } {
  return { message: t.plainStorageMessage, detail: t.plainStorageDetail(why), buttons: [t.keepForSession, t.storeAnyway] };
}
