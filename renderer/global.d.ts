/** `window.cloudreve`, exposed by the preload (preload/index.ts), typed from the contract. */
import type { CloudreveBridge } from '../main/ipc/contract.js';

declare global {
  interface Window {
    /** Absent only when the page runs without our preload (then api.ts reports it). */
    cloudreve?: CloudreveBridge;
  }
}

export {};
