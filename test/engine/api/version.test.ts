import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atLeast, compareVersions, featuresFor, judgePing, parseSemVer } from '../../../main/engine/api/version.js';
import { EngineError } from '../../../main/engine/errors.js';

test('parseSemVer', () => {
  assert.deepEqual(parseSemVer('4.18.0'), { major: 4, minor: 18, patch: 0, prerelease: [], pro: false, raw: '4.18.0' });
  assert.equal(parseSemVer('4.18.0-pro')?.pro, true);
  assert.deepEqual(parseSemVer('4.18.0-pro')?.prerelease, []);
  assert.deepEqual(parseSemVer('v4.1.0-beta.1')?.prerelease, ['beta', '1']);
  assert.equal(parseSemVer('3.8.3')?.major, 3);
  for (const bad of ['', 'hello', '4.18', '4.x.0', '<html>', '4.18.0 beta']) assert.equal(parseSemVer(bad), null, bad);
});

test('compareVersions follows SemVer precedence, ignoring -pro', () => {
  const ordered = ['3.8.3', '4.0.0-beta.1', '4.0.0-beta.2', '4.0.0-rc.1', '4.0.0', '4.6.9', '4.7.0', '4.10.0', '4.18.0'];
  for (let i = 0; i + 1 < ordered.length; i++) assert.ok(compareVersions(ordered[i], ordered[i + 1]) < 0, `${ordered[i]} < ${ordered[i + 1]}`);
  assert.equal(compareVersions('4.18.0-pro', '4.18.0'), 0);
  assert.ok(atLeast('4.10.0', '4.7.0'));
  assert.ok(!atLeast(undefined, '4.0.0'));
});

test('feature gates open at the documented versions', () => {
  assert.deepEqual(featuresFor('4.6.9'), { chunkConcurrency: false, encryption: false, events: false, oauth: false, allChunksRule: false });
  assert.equal(featuresFor('4.7.0').chunkConcurrency, true);
  assert.equal(featuresFor('4.9.9').encryption, false);
  assert.equal(featuresFor('4.10.0').encryption, true);
  assert.equal(featuresFor('4.10.5').events, false);
  assert.equal(featuresFor('4.11.0').events, true);
  assert.equal(featuresFor('4.12.0').oauth, true);
  assert.equal(featuresFor('4.17.3').allChunksRule, false);
  assert.equal(featuresFor('4.18.0-pro').allChunksRule, true);
  assert.deepEqual(featuresFor(undefined), { chunkConcurrency: false, encryption: false, events: false, oauth: false, allChunksRule: false });
});

test('judgePing: v4, v3, old, foreign', () => {
  const j = (status: number, body: string, contentType = 'application/json') => ({ status, body, contentType });
  assert.deepEqual(judgePing('http://h', j(200, '{"code":0,"data":"4.18.0-pro","msg":""}')), { version: '4.18.0-pro', pro: true });
  const v3 = () => judgePing('http://h', j(404, '404 page not found', 'text/plain'), j(200, '{"code":0,"data":"3.8.3","msg":""}'));
  assert.throws(v3, (e: EngineError) => e.code === 'unsupported-version' && /Cloudreve 3\.x is not supported/.test(e.message));
  assert.throws(
    () => judgePing('http://h', j(200, '{"code":0,"data":"3.9.0"}')),
    (e: EngineError) => e.code === 'unsupported-version',
  );
  assert.throws(
    () => judgePing('http://h', j(200, '<!DOCTYPE html><html><title>Welcome to nginx!</title>', 'text/html'), j(200, '<!DOCTYPE html>', 'text/html')),
    (e: EngineError) => e.code === 'not-cloudreve' && /HTTP 200 \(text\/html\).*Welcome to nginx/.test(e.message),
  );
  assert.throws(
    () => judgePing('http://h', j(200, '{"status":"ok"}')),
    (e: EngineError) => e.code === 'not-cloudreve',
  );
  assert.throws(
    () => judgePing('http://h', j(200, '{"code":0,"data":"pong"}')),
    (e: EngineError) => e.code === 'not-cloudreve' && /without a version/.test(e.message),
  );
});
