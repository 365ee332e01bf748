/**
 * The sandboxed preload: exposes `window.cloudreve` (a CloudreveBridge) and nothing else.
 * Bundled with the contract into one CommonJS file (dist/preload/index.cjs), as a sandboxed preload must be.
 *
 * - `invoke` is built by iterating the contract's METHOD_NAMES: one function per method, each bound to its own
 *   `cloudreve:invoke:<name>` channel. The renderer never sees ipcRenderer or a free-form channel.
 * - `on(event, listener)` accepts only contract event names, hands the listener the payload alone (never the
 *   IPC event object) and returns the function that removes exactly that listener.
 * - `getPathForFile` wraps webUtils.getPathForFile (File.path no longer exists) for drag-and-drop.
 *
 * Keep every member a plain function: no getters, nothing with side effects on property access.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import {
  BRIDGE_KEY,
  eventChannel,
  invokeChannel,
  isEventName,
  METHOD_NAMES,
  type CloudreveBridge,
  type EventMap,
  type EventName,
  type RendererApi,
} from '../main/ipc/contract.js';

function buildInvoke(): RendererApi {
  const entries = METHOD_NAMES.map((name) => {
    const channel = invokeChannel(name);
    return [name, (...args: unknown[]) => ipcRenderer.invoke(channel, ...args)] as const;
  });
  return Object.freeze(Object.fromEntries(entries)) as unknown as RendererApi;
}

const bridge: CloudreveBridge = {
  invoke: buildInvoke(),
  on<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void) {
    if (!isEventName(event)) throw new Error(`Unknown event: ${String(event)}`);
    if (typeof listener !== 'function') throw new Error('listener must be a function');
    const channel = eventChannel(event);
    const wrapped = (_event: IpcRendererEvent, payload: EventMap[K]): void => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
  getPathForFile(file: File): string {
    return webUtils.getPathForFile(file);
  },
};

contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge);
