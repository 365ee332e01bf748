import type { Router } from './http.js';
import type { Core } from './state.js';
export class EventHub {
  constructor(readonly core: Core) {}
  closeAll(): void {}
}
export function registerEvents(r: Router, hub: EventHub): void {
  void r;
  void hub;
}
