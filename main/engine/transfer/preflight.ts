/**
 * Pure checks made before any byte is sent (spec §4.1 name rules, §3.4 policy rules, §3.3 quota):
 * each failure is the per-file error the server would give, with a clear message.
 */
import { EngineError } from '../errors.js';
import type { Capacity, StoragePolicy } from '../api/types.js';

const FORBIDDEN = /[\\/:*?"<>|]/;

export function checkName(name: string): EngineError | null {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return new EngineError('name-rejected', 'empty file name', { serverCode: 40052 });
  if (bytes > 255) return new EngineError('name-rejected', `"${name.slice(0, 40)}…": name longer than 255 bytes`, { serverCode: 40052 });
  if (name === '.' || name === '..') return new EngineError('name-rejected', `"${name}": not a valid name`, { serverCode: 40052 });
  const bad = FORBIDDEN.exec(name);
  if (bad) return new EngineError('name-rejected', `"${name}": Cloudreve does not accept the character ${bad[0]} in names`, { serverCode: 40052 });
  return null;
}

function extensionOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i <= 0 ? '' : name.slice(i + 1).toLowerCase();
}

export function checkPolicy(name: string, size: number, policy: StoragePolicy): EngineError | null {
  const ext = extensionOf(name);
  const norm = (l: string[]) => l.map((s) => s.replace(/^\./, '').toLowerCase());
  if (policy.allowed_suffix && policy.allowed_suffix.length > 0 && !norm(policy.allowed_suffix).includes(ext)) {
    return new EngineError('name-rejected', `"${name}": the storage policy only accepts ${policy.allowed_suffix.join(', ')} files`, { serverCode: 40052 });
  }
  if (policy.denied_suffix && policy.denied_suffix.length > 0 && norm(policy.denied_suffix).includes(ext)) {
    return new EngineError('name-rejected', `"${name}": the storage policy refuses .${ext} files`, { serverCode: 40052 });
  }
  if (policy.allowed_name_regexp && !safeTest(policy.allowed_name_regexp, name, true)) {
    return new EngineError('name-rejected', `"${name}": the storage policy's name rule refuses it`, { serverCode: 40052 });
  }
  if (policy.denied_name_regexp && safeTest(policy.denied_name_regexp, name, false)) {
    return new EngineError('name-rejected', `"${name}": the storage policy's name rule refuses it`, { serverCode: 40052 });
  }
  if (policy.max_size > 0 && size > policy.max_size) {
    return new EngineError('too-large', `"${name}": ${size} bytes is over the storage policy's limit of ${policy.max_size} bytes`, { serverCode: 40049 });
  }
  return null;
}

/** A Go regexp the JS engine cannot parse is left to the server to judge. */
function safeTest(source: string, name: string, fallback: boolean): boolean {
  try {
    return new RegExp(source).test(name);
  } catch {
    return fallback;
  }
}

export function checkQuota(name: string, size: number, capacity: Capacity | null, reservedByUs = 0): EngineError | null {
  if (!capacity || capacity.total <= 0) return null;
  const free = capacity.total - capacity.used - reservedByUs;
  if (size > free) {
    return new EngineError('quota', `"${name}": needs ${size} bytes but only ${Math.max(0, free)} are free on the account`, { serverCode: 40051 });
  }
  return null;
}

/** "report.pdf" → "report (1).pdf", "archive.tar.gz" → "archive.tar (1).gz", ".bashrc" → ".bashrc (1)" */
export function numberedName(name: string, n: number): string {
  const i = name.lastIndexOf('.');
  if (i <= 0) return `${name} (${n})`;
  return `${name.slice(0, i)} (${n})${name.slice(i)}`;
}
