/**
 * The conformance suite for every provider the emulator serves itself (OSS, COS, OBS, OneDrive, Qiniu, Upyun, and the
 * S3/KS3 wire protocol without a real server; S3 and KS3 against real Swift are in swift.test.ts).
 */
import { conformance, type ConformanceTarget } from './conformance.js';

const P = 64 * 1024;
const s3Expired = { type: 'status', status: 403, body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>', headers: { 'content-type': 'application/xml' } } as const;
// kill -9/resume runs once per resume mechanism: journal ETags (s3), provider truth (onedrive), JSON etags (qiniu),
// start over (upyun); oss/cos/obs/ks3 differ from s3 only in how they complete, which every other case covers.
const s3Like = (type: 's3' | 'ks3' | 'oss' | 'cos' | 'obs'): ConformanceTarget => ({
  name: `${type} (emulated)`,
  policy: { type, minPartSize: P },
  part: P,
  parallel: true,
  emptyFiles: true,
  killResume: type === 's3',
  faults: { partMethod: 'PUT', partPath: `^/__vendor/s3like/${type}/`, expired: s3Expired },
});

const TARGETS: ConformanceTarget[] = [
  s3Like('s3'),
  s3Like('oss'),
  s3Like('cos'),
  s3Like('obs'),
  s3Like('ks3'),
  {
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
  },
  {
    name: 'qiniu',
    policy: { type: 'qiniu', minPartSize: P },
    part: P,
    parallel: true,
    emptyFiles: true,
    killResume: true,
    faults: {
      partMethod: 'PUT',
      partPath: '^/__vendor/qiniu/',
      expired: { type: 'status', status: 401, body: '{"error":"token out of date"}', headers: { 'content-type': 'application/json' } },
    },
  },
  {
    name: 'upyun',
    policy: { type: 'upyun' },
    part: P,
    parallel: false,
    emptyFiles: true,
    killResume: true,
    faults: {
      partMethod: 'POST',
      partPath: '^/__vendor/upyun/',
      expired: { type: 'status', status: 401, body: '{"message":"policy expired","code":40100007}', headers: { 'content-type': 'application/json' } },
    },
  },
];

for (const t of TARGETS) conformance(t);
