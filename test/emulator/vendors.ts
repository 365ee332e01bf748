// The storage vendors' side of direct-to-storage policies: their endpoints, session fields and callbacks.
import type { Router } from './http.js';
import { registerS3Like } from './vendor-s3.js';

export function registerVendors(r: Router): void {
  registerS3Like(r);
}
