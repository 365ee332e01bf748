/**
 * PURE argv parsing for the desktop app, shared by the first instance and by `second-instance`
 * (the shell menu runs `<app> --upload <path>... [--to <uri>]`, and a running app receives that argv).
 *
 *   <app> [electron/chromium switches] [--hidden] --upload <path>... [--to <cloudreve-uri>] [-- <path>...]
 *
 * - Every token after `--upload` that is not a switch is a path (so switches Chromium inserts or appends,
 *   such as `--allow-file-access-from-files` or `--original-process-start-time=…`, are skipped safely).
 * - Tokens before `--upload` that are not switches are ignored (argv[0] is the executable; in development
 *   argv[1] is the app folder, e.g. `.`).
 * - `--upload=<path>` and `--to=<uri>` forms are accepted; after a bare `--` everything is a path.
 * - Relative paths are resolved against `cwd` (the second instance's working directory).
 */
import { posix, win32 } from 'node:path';

export interface ParsedShellArgs {
  /** Set when the command line asked to upload something. */
  upload: { paths: string[]; targetUri: string | null } | null;
  /** Start in the tray without showing the window (used by login items / autostart). */
  hidden: boolean;
  /** Problems worth logging (a flag without its value, `--upload` without paths); never fatal. */
  warnings: string[];
}

export interface ParseOptions {
  cwd: string;
  /** Path flavour for resolving relative paths; defaults to the running platform's. */
  platform?: NodeJS.Platform;
  /** Absolute paths that are never upload paths (the app folder in development: `electron <dir> …`,
   *  which Chromium may move after `--upload` when it reorders a second instance's argv). */
  ignore?: readonly string[];
}

export function parseShellArgs(argv: readonly string[], opts: ParseOptions): ParsedShellArgs {
  const path = (opts.platform ?? process.platform) === 'win32' ? win32 : posix;
  const warnings: string[] = [];
  const paths: string[] = [];
  let uploading = false;
  let targetUri: string | null = null;
  let hidden = false;
  let onlyPaths = false;

  const ignore = new Set((opts.ignore ?? []).map((p) => path.resolve(p)));
  const addPath = (p: string): void => {
    if (p.length === 0) return;
    const abs = path.isAbsolute(p) ? path.normalize(p) : path.resolve(opts.cwd, p);
    if (!ignore.has(path.resolve(abs))) paths.push(abs);
  };

  // argv[0] is always the executable.
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i];
    if (onlyPaths) {
      if (uploading) addPath(token);
      continue;
    }
    if (token === '--') {
      onlyPaths = true;
      continue;
    }
    if (token === '--upload') {
      uploading = true;
      continue;
    }
    if (token.startsWith('--upload=')) {
      uploading = true;
      addPath(token.slice('--upload='.length));
      continue;
    }
    if (token === '--to') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) warnings.push('--to needs a cloudreve:// URI');
      else {
        targetUri = checkUri(next, warnings);
        i++;
      }
      continue;
    }
    if (token.startsWith('--to=')) {
      targetUri = checkUri(token.slice('--to='.length), warnings);
      continue;
    }
    if (token === '--hidden') {
      hidden = true;
      continue;
    }
    // Any other switch belongs to Electron/Chromium (or to the OS: macOS adds -psn_0_12345).
    if (token.startsWith('-') && token.length > 1) continue;
    if (uploading) addPath(token);
  }

  if (uploading && paths.length === 0) warnings.push('--upload was given without any path');
  return {
    upload: uploading && paths.length > 0 ? { paths: dedupe(paths), targetUri } : null,
    hidden,
    warnings,
  };
}

function checkUri(value: string, warnings: string[]): string | null {
  if (/^cloudreve:\/\/\S*$/.test(value)) return value;
  warnings.push(`ignoring --to ${JSON.stringify(value)}: not a cloudreve:// URI`);
  return null;
}

function dedupe(paths: string[]): string[] {
  return [...new Set(paths)];
}
