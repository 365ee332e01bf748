/** The emulated providers the conformance suite runs against (one test file each, so each has its own time budget). */
import type { ConformanceTarget } from './conformance.js';

export const PART = 64 * 1024;
const s3Expired = { type: 'status', status: 403, body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>', headers: { 'content-type': 'application/xml' } } as const;

// kill -9/resume runs for every provider (the issue asks it of each adapter): journal ETags (s3, ks3, oss, cos, obs),
// provider truth (onedrive), JSON etags (qiniu), start over (upyun form), the uuid in part 1's receipt (upyun chunked).
export const s3Like = (type: 's3' | 'ks3' | 'oss' | 'cos' | 'obs'): ConformanceTarget => ({
  name: `${type} (emulated)`,
  policy: { type, minPartSize: PART },
  part: PART,
  parallel: true,
  emptyFiles: true,
  killResume: true,
  faults: { partMethod: 'PUT', partPath: `^/__vendor/s3like/${type}/`, expired: s3Expired },
});

export const onedrive: ConformanceTarget = {
  name: 'onedrive',
  policy: { type: 'onedrive' },
  part: 320 * 1024,
  parallel: false,
  emptyFiles: false,
  killResume: true,
  faults: {
    partMethod: 'PUT',
    partPath: '^/__vendor/onedrive/',
    expired: { type: 'status', status: 404, body: '{"error":{"code":"itemNotFound","message":"The upload session was not found."}}', headers: { 'content-type': 'application/json' } },
  },
};

export const qiniu: ConformanceTarget = {
  name: 'qiniu',
  policy: { type: 'qiniu', minPartSize: PART },
  part: PART,
  parallel: true,
  emptyFiles: true,
  killResume: true,
  faults: {
    partMethod: 'PUT',
    partPath: '^/__vendor/qiniu/',
    expired: { type: 'status', status: 401, body: '{"error":"token out of date"}', headers: { 'content-type': 'application/json' } },
  },
};

export const upyun: ConformanceTarget = {
  name: 'upyun',
  policy: { type: 'upyun' },
  part: PART,
  parallel: false,
  emptyFiles: true,
  killResume: true,
  faults: {
    partMethod: 'POST',
    partPath: '^/__vendor/upyun/',
    expired: { type: 'status', status: 401, body: '{"message":"policy expired","code":40100007}', headers: { 'content-type': 'application/json' } },
  },
};

/**
 * Upyun's multi-stage upload, for a server that hands out a chunked session (Cloudreve 4.x never does: the session's
 * shape is the client's assumption, README "Storage policies"). Upyun's parts are 1 MiB, so the part is 1 MiB here.
 * An expired session is Upyun refusing the signed date (401 40100002); the fault hits the first PUT of the upload.
 */
export const upyunChunked: ConformanceTarget = {
  name: 'upyun chunked (multi-stage)',
  policy: { type: 'upyun', upyunChunked: true },
  part: 1024 * 1024,
  parallel: false,
  emptyFiles: true,
  killResume: true,
  faults: {
    partMethod: 'PUT',
    partPath: '^/__vendor/upyun/',
    expired: { type: 'status', status: 401, body: '{"msg":"date offset error","code":40100002,"id":"0"}', headers: { 'content-type': 'application/json' } },
  },
};
