/** The pure parts behind the history, pairs, conflicts and sign-in screens. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConflictDto, HistoryEntryDto, PairDto } from '../../main/ipc/contract.js';
import { createTranslator } from '../../renderer/i18n/translator.js';
import { HISTORY_PAGE, historyAdded, historyLoaded, historyMatches, initialHistoryState, olderPageQuery } from '../../renderer/state/history-store.js';
import { displayUri, lastSegment } from '../../renderer/state/display-names.js';
import { addConflict, dismissConflict, parseIgnoreRules, removePair, toPairVm, upsertPair } from '../../renderer/state/pairs-store.js';
import { signInErrorText } from '../../renderer/state/sign-in-errors.js';

const en = createTranslator('en');
const zh = createTranslator('zh-CN');

function entry(over: Partial<HistoryEntryDto> = {}): HistoryEntryDto {
  return {
    id: 'h1',
    transferId: 't1',
    name: 'Report.PDF',
    localPath: '/home/ann/Docs/Report.PDF',
    targetUri: 'cloudreve://my/Backups/Report.PDF',
    size: 10,
    state: 'done',
    error: null,
    pairId: null,
    finishedAt: 1000,
    ...over,
  };
}

function pair(over: Partial<PairDto> = {}): PairDto {
  return {
    id: 'p1',
    localPath: '/home/ann/Photos',
    remoteUri: 'cloudreve://my/Photos',
    mode: 'backup',
    ignore: [],
    paused: false,
    state: 'idle',
    stateDetail: null,
    lastScanAt: null,
    createdAt: 1,
    ...over,
  };
}

test('historyMatches: case-insensitive substring of name, local path or target, and the state', () => {
  const e = entry();
  const table: Array<[Parameters<typeof historyMatches>[1], boolean]> = [
    [{}, true],
    [{ text: 'report' }, true],
    [{ text: '  REPORT ' }, true],
    [{ text: 'docs/' }, true],
    [{ text: 'backups' }, true],
    [{ text: 'holiday' }, false],
    [{ state: 'done' }, true],
    [{ state: 'failed' }, false],
    [{ text: 'report', state: 'failed' }, false],
  ];
  for (const [q, want] of table) assert.equal(historyMatches(e, q), want, JSON.stringify(q));
});

test('history: a page replaces, an older page appends, a pushed entry joins the top only when it matches', () => {
  let s = historyLoaded(initialHistoryState, { text: 'rep', limit: 2 }, [entry({ id: 'a', finishedAt: 30 }), entry({ id: 'b', finishedAt: 20 })]);
  assert.deepEqual(s.entries.map((e) => e.id), ['a', 'b']);
  assert.equal(s.more, true, 'a full page: maybe more');
  const older = olderPageQuery(s);
  assert.deepEqual(older, { text: 'rep', limit: HISTORY_PAGE, before: 20 });
  s = historyLoaded(s, older, [entry({ id: 'b', finishedAt: 20 }), entry({ id: 'c', finishedAt: 10 })]);
  assert.deepEqual(s.entries.map((e) => e.id), ['a', 'b', 'c'], 'no duplicate at the page boundary');
  assert.equal(s.more, false);
  assert.equal(historyAdded(s, entry({ id: 'x', name: 'photo.jpg', localPath: '/p/photo.jpg', targetUri: 'cloudreve://my/photo.jpg' })), s);
  s = historyAdded(s, entry({ id: 'n', finishedAt: 40 }));
  assert.deepEqual(s.entries.map((e) => e.id), ['n', 'a', 'b', 'c']);
  s = historyAdded(s, entry({ id: 'a', finishedAt: 50, state: 'failed' }));
  assert.deepEqual(s.entries.map((e) => e.id), ['a', 'n', 'b', 'c'], 'a retried entry moves to the top');
  assert.equal(historyAdded(initialHistoryState, entry()), initialHistoryState, 'nothing loaded yet: the next load brings it');
  // a fresh search replaces whatever was shown
  s = historyLoaded(s, { limit: HISTORY_PAGE }, []);
  assert.deepEqual(s.entries, []);
  assert.equal(s.loaded, true);
});

test('pairs and conflicts: upsert by id in creation order; conflicts newest first', () => {
  let ps = upsertPair([], pair({ id: 'b', createdAt: 2 }));
  ps = upsertPair(ps, pair({ id: 'a', createdAt: 1 }));
  ps = upsertPair(ps, pair({ id: 'b', createdAt: 2, state: 'syncing' }));
  assert.deepEqual(ps.map((p) => [p.id, p.state]), [['a', 'idle'], ['b', 'syncing']]);
  assert.deepEqual(removePair(ps, 'a').map((p) => p.id), ['b']);
  const c = (id: number, createdAt: number): ConflictDto => ({ id, pairId: 'p1', relPath: `f${id}.txt`, remoteUri: 'r', conflictUri: 'c', reason: 'both changed', createdAt });
  let cs = addConflict([], c(1, 10));
  cs = addConflict(cs, c(2, 20));
  cs = addConflict(cs, c(1, 10));
  assert.deepEqual(cs.map((x) => x.id), [2, 1]);
  assert.deepEqual(dismissConflict(cs, 2).map((x) => x.id), [1]);
});

test('pair view model: state label and tone per state; needs-confirmation shows the count', () => {
  const table: Array<[PairDto['state'], string, string]> = [
    ['idle', 'Up to date', 'ok'],
    ['scanning', 'Checking for changes', 'busy'],
    ['syncing', 'Syncing', 'busy'],
    ['paused', 'Paused', 'paused'],
    ['offline', 'Offline', 'warn'],
    ['login-required', 'Sign in again', 'error'],
    ['unavailable', 'Folder unavailable', 'error'],
    ['needs-confirmation', 'Waiting for your confirmation', 'warn'],
    ['error', 'Error', 'error'],
  ];
  for (const [state, label, tone] of table) {
    const vm = toPairVm(pair({ state }), en);
    assert.equal(vm.stateLabel, label, state);
    assert.equal(vm.tone, tone, state);
  }
  const held = toPairVm(pair({ mode: 'mirror', state: 'needs-confirmation', stateDetail: { code: 'mass-delete', message: 'held', pendingDeletes: 120 } }), en);
  assert.equal(held.pendingDeletes, 120);
  assert.equal(held.detail, 'Delete 120 files on the server, as in the local folder?');
  assert.equal(held.mirror, true);
  assert.equal(held.modeLabel, 'Mirror');
  assert.equal(toPairVm(pair({ state: 'needs-confirmation', stateDetail: { code: 'x', message: '', pendingDeletes: 1 } }), zh).detail, '按本地文件夹删除服务器上的 1 个文件？');
  const broken = toPairVm(pair({ state: 'unavailable', stateDetail: { code: 'local-io', message: '/home/ann/Photos is gone', pendingDeletes: null } }), en);
  assert.equal(broken.detail, '/home/ann/Photos is gone');
  assert.equal(broken.pendingDeletes, null);
  assert.equal(toPairVm(pair(), en).lastScan, 'Not checked yet');
  assert.match(toPairVm(pair({ lastScanAt: Date.UTC(2026, 0, 2) }), en).lastScan, /^Last checked .*2026/);
});

test('parseIgnoreRules and lastSegment', () => {
  assert.deepEqual(parseIgnoreRules('*.tmp\r\n\n  node_modules/  \n# note\n'), ['*.tmp', 'node_modules/', '# note']);
  assert.deepEqual(parseIgnoreRules('   \n'), []);
  const table: Array<[string, string]> = [
    ['/home/ann/Photos', 'Photos'],
    ['/home/ann/Photos/', 'Photos'],
    ['C:\\Users\\ann\\file.txt', 'file.txt'],
    ['cloudreve://my/Backups/', 'Backups'],
    ['plain', 'plain'],
  ];
  for (const [input, want] of table) assert.equal(lastSegment(input), want, input);
});

test('sign-in errors: wrong password, not a Cloudreve v4 server and unreachable each have their own words', () => {
  const err = (code: string, message = 'm') => ({ code, message, retryable: false });
  const table: Array<[string, RegExp]> = [
    ['invalid-password', /^Wrong email or password\.$/],
    ['otp-required', /two-factor authentication/],
    ['otp-invalid', /two-factor code is not right/],
    ['not-cloudreve', /does not answer like a Cloudreve v4 server/],
    ['bad-response', /does not answer like a Cloudreve v4 server/],
    ['http-status', /does not answer like a Cloudreve v4 server/],
    ['unsupported-version', /Cloudreve 3 or older/],
    ['network', /^Cannot reach the server: m\./],
    ['timeout', /^Cannot reach the server: m\./],
    ['account-disabled', /disabled/],
    ['captcha-required', /captcha/],
    ['usage', /^That is not a server address: m$/],
    ['server', /^Sign-in failed: m$/],
  ];
  for (const [code, re] of table) assert.match(signInErrorText(err(code), en), re, code);
  const distinct = new Set(['invalid-password', 'not-cloudreve', 'network'].map((c) => signInErrorText(err(c), en)));
  assert.equal(distinct.size, 3);
  assert.equal(signInErrorText(err('invalid-password'), zh), '邮箱或密码错误。');
});

test('displayUri decodes percent-escapes for reading, and leaves a malformed one alone', () => {
  const table: Array<[string, string]> = [
    ['cloudreve://my/Sync/notes%20(conflict%202026-11-25%20234826%20vm).txt', 'cloudreve://my/Sync/notes (conflict 2026-11-25 234826 vm).txt'],
    ['cloudreve://my/%E7%85%A7%E7%89%87/', 'cloudreve://my/照片/'],
    ['cloudreve://my/plain', 'cloudreve://my/plain'],
    ['cloudreve://my/100%', 'cloudreve://my/100%'],
  ];
  for (const [input, want] of table) assert.equal(displayUri(input), want, input);
});
