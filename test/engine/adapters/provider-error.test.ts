/** Providers' error bodies become typed EngineErrors that classify() acts on; the S3 completion XML keeps ETags. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawResponse } from '../../../main/engine/api/http.js';
import { onedriveError, qiniuError, s3Error, s3ErrorOf, upyunCode, upyunError, parseXml } from '../../../main/engine/adapters/provider-error.js';
import { completeXml, S3_QUIRKS } from '../../../main/engine/adapters/s3-like.js';
import { nextExpectedOffset } from '../../../main/engine/adapters/onedrive.js';
import { uploadForm } from '../../../main/engine/adapters/upyun.js';
import { classify, EngineError } from '../../../main/engine/errors.js';
import type { UploadSession } from '../../../main/engine/api/types.js';

const ctx = { op: 'upload part 1', endpoint: 'PUT https://bucket.example/key', host: 'bucket.example', secrets: ['SECRETTOKEN'] };
const raw = (status: number, body: string, headers: Record<string, string> = {}): RawResponse => ({ status, body, headers });
const xmlErr = (code: string, message = '') => `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;

test('S3-family XML errors: throttling, expired or refused URLs, client bugs, the rest by status', () => {
  const cases: Array<[number, string, string, string, string]> = [
    [503, 'SlowDown', 'Please reduce your request rate.', 'throttled', 'retry'],
    [200, 'InternalError', 'We encountered an internal error.', 'throttled', 'retry'],
    [403, 'AccessDenied', 'Request has expired', 'session-expired', 'fail-file'],
    [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match', 'session-expired', 'fail-file'],
    [404, 'NoSuchUpload', 'The specified upload does not exist.', 'session-expired', 'fail-file'],
    [400, 'InvalidPart', 'One or more of the specified parts could not be found.', 'storage-protocol', 'fail-file'],
    [400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', 'storage-protocol', 'fail-file'],
    [400, 'InvalidPartOrder', 'The list of parts was not in ascending order.', 'storage-protocol', 'fail-file'],
    [403, 'AccessDenied', 'Access Denied', 'permission', 'fail-file'],
    [500, 'Weird', 'x', 'http-status', 'retry'],
  ];
  for (const [status, code, message, want, cls] of cases) {
    const e = s3Error(raw(status, xmlErr(code, message)), ctx);
    assert.ok(e instanceof EngineError);
    assert.equal(e.code, want, code);
    assert.equal(classify(e), cls, code);
    assert.match(e.message, new RegExp(code));
    assert.equal(e.httpStatus, status);
  }
  // Retry-After is honoured; OBS's JSON form too; a body that is not XML goes by status
  assert.equal(s3Error(raw(503, xmlErr('SlowDown'), { 'retry-after': '7' }), ctx).retryAfterMs, 7000);
  assert.equal(s3Error(raw(403, '{"code":"AccessDenied","message":"Request has expired"}'), ctx).code, 'session-expired');
  assert.equal(s3Error(raw(502, '<html>bad gateway</html>'), ctx).code, 'http-status');
  assert.equal(classify(s3Error(raw(502, ''), ctx)), 'retry');
});

test('an <Error> inside an HTTP 200 is found; a success body is not an error', () => {
  assert.deepEqual(s3ErrorOf(xmlErr('InternalError', 'oops')), { code: 'InternalError', message: 'oops' });
  assert.equal(s3ErrorOf('<CompleteMultipartUploadResult><ETag>"x-2"</ETag></CompleteMultipartUploadResult>'), null);
  assert.equal(s3ErrorOf('{"code":0}'), null);
  assert.equal(s3ErrorOf(''), null);
});

test('secrets of the request never reach the message', () => {
  const e = s3Error(raw(403, xmlErr('AccessDenied', 'token SECRETTOKEN expired')), ctx);
  assert.doesNotMatch(e.message, /SECRETTOKEN/);
});

test('completion XML: every part ascending with its ETag as received (quoted), none without one', () => {
  const body = completeXml([
    { index: 1, etag: '"bbb"' },
    { index: 0, etag: '"aaa"' },
  ]);
  const doc = parseXml(body) as { CompleteMultipartUpload: { Part: Array<{ PartNumber: string; ETag: string }> } };
  assert.deepEqual(
    doc.CompleteMultipartUpload.Part.map((p) => [p.PartNumber, p.ETag.replace(/&quot;/g, '"')]),
    [
      ['1', '"aaa"'],
      ['2', '"bbb"'],
    ],
  );
  assert.throws(() => completeXml([{ index: 0, etag: null }]), (e: unknown) => e instanceof EngineError && e.code === 'storage-protocol');
  // the quirks: who calls Cloudreve back, what the complete request carries
  assert.equal(S3_QUIRKS.oss.completeBody, 'empty');
  assert.equal(S3_QUIRKS.oss.completeHeaders['x-oss-complete-all'], 'yes');
  assert.equal(S3_QUIRKS.cos.completeHeaders['x-cos-forbid-overwrite'], 'true');
  assert.deepEqual(
    (['s3', 'ks3', 'cos', 'oss', 'obs'] as const).map((k) => S3_QUIRKS[k].callback),
    ['client', 'client', 'client', 'vendor', 'vendor'],
  );
});

test('OneDrive: retryAfterSeconds throttles, a gone session is a new session, nextExpectedRanges parsed', () => {
  const t = onedriveError(raw(503, '{"error":{"code":"serviceNotAvailable","message":"busy","retryAfterSeconds":3}}'), ctx);
  assert.equal(t.code, 'throttled');
  assert.equal(t.retryAfterMs, 3000);
  assert.equal(classify(t), 'retry');
  assert.equal(onedriveError(raw(429, '{"error":{"code":"activityLimitReached"}}'), ctx).code, 'throttled');
  assert.equal(onedriveError(raw(404, '{"error":{"code":"itemNotFound","message":"gone"}}'), ctx).code, 'session-expired');
  const overlap = onedriveError(raw(416, '{"error":{"code":"invalidRange","innererror":{"code":"fragmentOverlap"}}}'), ctx);
  assert.equal(overlap.code, 'http-status');
  assert.match(overlap.message, /fragmentOverlap/);
  assert.equal(onedriveError(raw(400, '{"error":{"code":"invalidRequest","message":"multiples of 320 KiB"}}'), ctx).code, 'storage-protocol');
  assert.equal(nextExpectedOffset('{"nextExpectedRanges":["655360-"]}', 10), 655360);
  assert.equal(nextExpectedOffset('{"nextExpectedRanges":["327680-999999"]}', 10), 327680);
  assert.equal(nextExpectedOffset('{"nextExpectedRanges":[]}', 1234), 1234);
  assert.throws(() => nextExpectedOffset('{"nextExpectedRanges":["x"]}', 1), EngineError);
  assert.throws(() => nextExpectedOffset('<html>', 1), EngineError);
});

test('Qiniu {error} and Upyun {message, code}', () => {
  assert.equal(qiniuError(raw(401, '{"error":"token out of date"}'), ctx).code, 'session-expired');
  assert.equal(qiniuError(raw(612, '{"error":"no such uploadId"}'), ctx).code, 'session-expired');
  assert.equal(qiniuError(raw(573, '{"error":"too many requests"}'), ctx).code, 'throttled');
  assert.equal(qiniuError(raw(400, '{"error":"part 2: etag does not match"}'), ctx).code, 'storage-protocol');
  const cb = qiniuError(raw(579, '{"error":"callback failed"}'), ctx);
  assert.equal(classify(cb), 'fail-file');
  assert.equal(classify(qiniuError(raw(599, '{"error":"server error"}'), ctx)), 'retry');
  assert.equal(upyunError(raw(401, '{"message":"policy expired","code":40100007}'), ctx).code, 'session-expired');
  assert.equal(upyunError(raw(429, '{"message":"too many requests","code":42900001}'), ctx).code, 'throttled');
  const big = upyunError(raw(403, '{"message":"file size not in content-length-range","code":40300011}'), ctx);
  assert.equal(classify(big), 'fail-file');
  assert.match(big.message, /content-length-range \(40300011\)/);
});

test('Upyun REST errno {msg, code, id} (multi-stage upload): refused dates, signatures and forgotten uploads are a new session, malformed requests a client bug', () => {
  const cases: Array<[number, number, string, string, string]> = [
    [401, 40100002, 'date offset error', 'session-expired', 'fail-file'],
    [401, 40100005, 'signature error', 'session-expired', 'fail-file'],
    [401, 40100001, 'need date header', 'session-expired', 'fail-file'],
    [400, 40011058, 'x-upyun-multi-uuid not found', 'session-expired', 'fail-file'],
    [400, 40001035, 'notfound multipart uuid', 'session-expired', 'fail-file'],
    [400, 40011061, 'part id error', 'session-expired', 'fail-file'],
    [403, 40300028, 'request has expired', 'session-expired', 'fail-file'],
    [400, 40001027, 'wrong multipart size', 'storage-protocol', 'fail-file'],
    [400, 40001037, 'incomplete multipart parts', 'storage-protocol', 'fail-file'],
    [400, 40011051, 'invalid x-upyun-part-id', 'storage-protocol', 'fail-file'],
    [400, 40011055, 'invalid multipart stage', 'storage-protocol', 'fail-file'],
    [429, 42900001, 'too many requests', 'throttled', 'retry'],
    [503, 50300000, 'unknown error', 'throttled', 'retry'],
    [400, 40011059, 'file already upload', 'http-status', 'fail-file'],
    [500, 50000000, 'internal', 'http-status', 'retry'],
  ];
  for (const [status, code, msg, want, cls] of cases) {
    const e = upyunError(raw(status, JSON.stringify({ msg, code, id: 'a1b2' })), ctx);
    assert.equal(e.code, want, msg);
    assert.equal(classify(e), cls, msg);
    assert.equal(e.httpStatus, status);
    assert.match(e.message, new RegExp(`${msg} \\(${code}\\)`));
  }
  assert.equal(upyunError(raw(502, '<html>bad gateway</html>'), ctx).code, 'http-status');
  assert.match(upyunError(raw(400, ''), ctx).message, /empty body/);
  assert.equal(upyunCode('{"msg":"part id error","code":40011061}'), 40011061);
  assert.equal(upyunCode('{"code":"40011062"}'), 40011062);
  assert.equal(upyunCode('{"msg":"no code"}'), null);
  assert.equal(upyunCode('not json'), null);
});

test('Upyun form: policy, authorization, content-type, then the file; exact framing around a streamed file', () => {
  const s = { upload_policy: 'UE9MSUNZ', credential: 'UPYUN op:sig', mime_type: 'text/plain' } as UploadSession;
  const { boundary, head, tail } = uploadForm(s, 'a"b.txt');
  const h = head.toString();
  const order = ['name="policy"', 'name="authorization"', 'name="content-type"', 'name="file"'].map((k) => h.indexOf(k));
  assert.deepEqual([...order].sort((a, b) => a - b), order);
  assert.ok(order.every((i) => i >= 0));
  assert.match(h, /filename="a_b\.txt"/);
  assert.ok(h.endsWith('\r\n\r\n'));
  assert.equal(tail.toString(), `\r\n--${boundary}--\r\n`);
  assert.throws(() => uploadForm({} as UploadSession, 'x'), EngineError);
});
