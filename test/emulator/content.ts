import type { Router } from './http.js';
export function registerContent(r: Router): void {
  void r;
}
