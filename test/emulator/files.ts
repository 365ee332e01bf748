import type { Router } from './http.js';
export function registerFiles(r: Router): void {
  void r;
}
