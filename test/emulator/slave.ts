import type { Router } from './http.js';
export function registerSlave(r: Router): void {
  void r;
}
