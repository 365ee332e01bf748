/**
 * cloudreve:// URIs (spec §4.1): path segments are encoded exactly like JS encodeURIComponent.
 */
import { EngineError } from '../errors.js';

export const MY_ROOT = 'cloudreve://my';

export function encodeSegment(name: string): string {
  return encodeURIComponent(name);
}

/** Trailing slashes removed: `cloudreve://my/` → `cloudreve://my` (`cloudreve://` itself stays as it is). */
export function normalizeUri(uri: string): string {
  if (uri.charCodeAt(uri.length - 1) !== 0x2f) return uri; // nothing to remove (the usual case, several times per file)
  const m = /^(cloudreve:\/\/)(.*)$/i.exec(uri);
  return m ? m[1] + m[2].replace(/\/+$/, '') : uri.replace(/\/+$/, '');
}

export function joinUri(folder: string, ...names: string[]): string {
  let out = normalizeUri(folder);
  for (const n of names) out += '/' + encodeSegment(n);
  return out;
}

/** `cloudreve://my/a/b%20c.txt` → `cloudreve://my/a` */
export function parentUri(uri: string): string {
  const u = normalizeUri(uri);
  const scheme = u.indexOf('://');
  const slash = u.lastIndexOf('/');
  if (slash <= scheme + 2) return u; // a filesystem root has no parent
  return u.slice(0, slash);
}

/** Decoded last segment. */
export function baseName(uri: string): string {
  const u = normalizeUri(uri);
  const slash = u.lastIndexOf('/');
  const scheme = u.indexOf('://');
  if (slash <= scheme + 2) return '';
  return decodeURIComponent(u.slice(slash + 1));
}

/**
 * A user-typed destination: a full cloudreve:// URI is kept; a plain path ("backup/photos", "/backup")
 * means under cloudreve://my, with each segment encoded.
 */
export function toUri(input: string): string {
  if (/^cloudreve:\/\//i.test(input)) {
    const uri = normalizeUri(input);
    if (!/^cloudreve:\/\/[^/]+/i.test(uri)) {
      throw new EngineError('usage', `"${input}" names no file system: use cloudreve://my/… (your files) or a folder path`);
    }
    return uri;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input);
  if (scheme) {
    throw new EngineError('usage', `"${input}" is not a Cloudreve folder (a ${scheme[1]}:// address): use cloudreve://my/… or a folder path`);
  }
  const segs = input.split('/').filter((s) => s.length > 0);
  return joinUri(MY_ROOT, ...segs);
}
