/**
 * The only file that touches `window.cloudreve`. Typed from the contract (type-only import): the renderer gets
 * `call(name, ...args) → Promise<Result>`, `on(event, listener) → unsubscribe`, and `pathForFile(file)`.
 * A rejected IPC promise (e.g. the main process went away) also becomes a Result, so callers handle one shape.
 * In a browser served by `cloudreve-sync ui` (no preload), http-bridge.ts provides the same bridge over HTTP.
 */
import type {
  CloudreveBridge,
  EventMap,
  EventName,
  MethodArgs,
  MethodName,
  MethodValue,
  Result,
  Unsubscribe,
} from '../main/ipc/contract.js';
import { installHttpBridge } from './http-bridge.js';

installHttpBridge();

export function hasBridge(): boolean {
  return typeof window.cloudreve === 'object' && window.cloudreve !== null;
}

function bridge(): CloudreveBridge {
  const b = window.cloudreve;
  if (!b) throw new Error('The Cloudreve bridge is missing: the page was loaded without its preload.');
  return b;
}

export async function call<K extends MethodName>(name: K, ...args: MethodArgs<K>): Promise<Result<MethodValue<K>>> {
  const fn = bridge().invoke[name] as (...a: MethodArgs<K>) => Promise<Result<MethodValue<K>>>;
  try {
    return await fn(...args);
  } catch (err) {
    return { ok: false, error: { code: 'ipc', message: err instanceof Error ? err.message : String(err), retryable: true } };
  }
}

export function on<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void): Unsubscribe {
  return bridge().on(event, listener);
}

/** The local path of a dropped or chosen file; '' when it has none (e.g. dragged from a web page). */
export function pathForFile(file: File): string {
  try {
    return bridge().getPathForFile(file);
  } catch {
    return '';
  }
}
