import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError, classify, codeForServer, isAbort, redact } from '../../../main/engine/errors.js';

test('codeForServer maps the documented envelope codes', () => {
  const table: Array<[number, string]> = [
    [401, 'login-required'],
    [40020, 'login-required'],
    [403, 'permission'],
    [40082, 'permission'],
    [40006, 'permission'],
    [404, 'not-found'],
    [40016, 'not-found'],
    [40004, 'exists'],
    [409, 'exists'],
    [40011, 'session-expired'],
    [40005, 'session-expired'],
    [40071, 'session-expired'],
    [40012, 'invalid-chunk'],
    [40013, 'invalid-chunk'],
    [40017, 'account-disabled'],
    [40018, 'account-disabled'],
    [40019, 'unsupported-feature'],
    [40022, 'otp-invalid'],
    [40026, 'captcha-required'],
    [40027, 'captcha-required'],
    [40049, 'too-large'],
    [40051, 'quota'],
    [40052, 'name-rejected'],
    [40055, 'size-mismatch'],
    [40073, 'lock-conflict'],
    [40076, 'stale-version'],
    [40080, 'invalid-password'],
    [50001, 'server'],
    [50004, 'server'],
    [50007, 'server'],
    [40001, 'api'],
    [40081, 'api'],
  ];
  for (const [server, code] of table) assert.equal(codeForServer(server), code, `code ${server}`);
});

test('classify: retry transient, fail-file per-file problems, stop what needs the user', () => {
  const e = (code: ConstructorParameters<typeof EngineError>[0], opts = {}) => new EngineError(code, 'x', opts);
  // retry: network, timeout, 5xx, 50xxx, garbage from a proxy
  for (const err of [e('network'), e('timeout'), e('server', { serverCode: 50004 }), e('bad-response'), e('http-status', { httpStatus: 502 }), e('http-status', { httpStatus: 500 }), e('http-status', { httpStatus: 429 }), e('http-status', { httpStatus: 408 })]) {
    assert.equal(classify(err), 'retry', `${err.code} ${err.httpStatus ?? ''}`);
  }
  assert.equal(classify(new EngineError(codeForServer(50001), 'db')), 'retry');
  // fail-file: this file cannot go
  for (const server of [40004, 40049, 40051, 40052, 40073, 40076, 40011, 40013, 40016, 40055, 403, 40001]) {
    assert.equal(classify(new EngineError(codeForServer(server), 'x', { serverCode: server })), 'fail-file', `code ${server}`);
  }
  assert.equal(classify(e('http-status', { httpStatus: 404 })), 'fail-file');
  assert.equal(classify(e('local-io')), 'fail-file');
  // stop: re-login and wrong-server problems
  for (const server of [401, 40020, 40080, 40022, 40017]) {
    assert.equal(classify(new EngineError(codeForServer(server), 'x', { serverCode: server })), 'stop', `code ${server}`);
  }
  for (const code of ['login-required', 'otp-required', 'not-cloudreve', 'unsupported-version', 'captcha-required'] as const) {
    assert.equal(classify(e(code)), 'stop', code);
  }
  // raw node errors
  assert.equal(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'retry');
  assert.equal(classify(Object.assign(new Error('x'), { code: 'ENOENT' })), 'fail-file');
  assert.equal(classify(new Error('plain')), 'fail-file');
});

test('isAbort recognises cancellations', () => {
  assert.ok(isAbort(new EngineError('cancelled', 'x')));
  assert.ok(isAbort(Object.assign(new Error('x'), { name: 'AbortError' })));
  assert.ok(!isAbort(new EngineError('network', 'x')));
});

test('redact removes tokens, signatures, passwords, share passwords and callback secrets', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsVXBhIn0.c2lnbmF0dXJlLXNpZw';
  const cases: Array<[string, string]> = [
    [`Authorization: Bearer ${jwt}`, jwt],
    [`Bearer Cr abcDEF123=:1736000000`, 'abcDEF123'],
    [`token ${jwt} leaked`, jwt],
    ['GET http://h/a?sign=SECRETSIGN:123&x=1', 'SECRETSIGN'],
    ['https://s3/x?X-Amz-Signature=deadbeefcafe&X-Amz-Credential=AKIAXXX', 'deadbeefcafe'],
    ['{"password":"hunter2","email":"a@b"}', 'hunter2'],
    ['{"key_plain_text":"S0VZS0VZ","iv":"SVZJVg=="}', 'S0VZS0VZ'],
    ['{"callback_secret":"abcdefSECRET"}', 'abcdefSECRET'],
    ['list cloudreve://AbCd:sharePASS@share/dir failed', 'sharePASS'],
    ['POST /api/v4/callback/s3/5f1e-uuid/CALLBACKSECRET32 failed', 'CALLBACKSECRET32'],
  ];
  for (const [text, secret] of cases) {
    const out = redact(text);
    assert.ok(!out.includes(secret), `${text} → ${out}`);
  }
  assert.equal(redact('list cloudreve://my/docs: Path not exist (code 40016)'), 'list cloudreve://my/docs: Path not exist (code 40016)');
  // The constructor redacts too.
  assert.ok(!new EngineError('api', `boom Bearer ${jwt}`).message.includes(jwt));
});
