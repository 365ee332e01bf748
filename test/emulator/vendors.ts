// The storage vendors' side of direct-to-storage policies: their endpoints, session fields and callbacks.
import type { Router } from './http.js';
import { registerOneDrive } from './vendor-onedrive.js';
import { registerQiniu } from './vendor-qiniu.js';
import { registerS3Like } from './vendor-s3.js';
import { registerUpyun } from './vendor-upyun.js';

export function registerVendors(r: Router): void {
  registerS3Like(r);
  registerOneDrive(r);
  registerQiniu(r);
  registerUpyun(r);
}
