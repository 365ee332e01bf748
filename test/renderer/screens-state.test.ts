/** The pure parts behind the history, pairs, conflicts and sign-in screens. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConflictDto, HistoryEntryDto, PairDto, SyncIssueDto } from '../../main/ipc/contract.js';
import { createTranslator } from '../../renderer/i18n/translator.js';
import { HISTORY_PAGE, historyAdded, historyLoaded, historyMatches, initialHistoryState, olderPageQuery } from '../../renderer/state/history-store.js';
import { displayUri, lastSegment } from '../../renderer/state/display-names.js';
import {
  addConflict,
  conflictReason,
  dismissConflict,
  freshness,
  issueText,
  notSyncedText,
  parseIgnoreRules,
  removePair,
  shownState,
  toPairVm,
  upsertPair,
} from '../../renderer/state/pairs-store.js';
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
    excludeRemote: [],
    paused: false,
    state: 'idle',
    stateDetail: null,
    lastScanAt: null,
    lastFullScanAt: null,
    lastChangeAt: null,
    confirmMirror: false,
    createdAt: 1,
    ...over,
  };
}

function detail(over: Partial<NonNullable<PairDto['stateDetail']>> = {}): NonNullable<PairDto['stateDetail']> {
  return { code: 'x', message: '', pendingDeletes: null, paths: null, notSynced: null, ...over };
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
  const c = (id: number, createdAt: number): ConflictDto => ({ id, pairId: 'p1', relPath: `f${id}.txt`, remoteUri: 'r', conflictUri: 'c', reasonCode: 'changed-both', reason: 'both changed', createdAt });
  let cs = addConflict([], c(1, 10));
  cs = addConflict(cs, c(2, 20));
  cs = addConflict(cs, c(1, 10));
  assert.deepEqual(cs.map((x) => x.id), [2, 1]);
  assert.deepEqual(dismissConflict(cs, 2).map((x) => x.id), [1]);
});

test('pair view model: state label and tone per state; needs-confirmation shows the count', () => {
  const table: Array<[PairDto['state'], string, string]> = [
    ['idle', 'Up to date', 'ok'],
    ['incomplete', 'Not all files backed up', 'warn'],
    ['remote-missing', 'Folder gone on the server', 'error'],
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
  const held = toPairVm(pair({ mode: 'mirror', state: 'needs-confirmation', stateDetail: detail({ code: 'mass-delete', message: 'held', pendingDeletes: 120, paths: ['a.txt', 'b/c.txt'] }) }), en);
  assert.equal(held.pendingDeletes, 120);
  assert.equal(held.detail, 'Delete 120 files on the server, as in the local folder?');
  assert.deepEqual(held.heldPaths, ['a.txt', 'b/c.txt']);
  assert.equal(held.heldMore, 118);
  assert.equal(held.mirror, true);
  assert.equal(held.modeLabel, 'Mirror');
  assert.equal(toPairVm(pair({ state: 'needs-confirmation', stateDetail: detail({ pendingDeletes: 1 }) }), zh).detail, '按本地文件夹删除服务器上的 1 个文件？');
  // the switch from backup to mirror says where the files come from
  const switched = toPairVm(pair({ mode: 'mirror', state: 'needs-confirmation', confirmMirror: true, stateDetail: detail({ pendingDeletes: 2, paths: ['x', 'y'] }) }), en);
  assert.equal(switched.detail, 'Now a mirror: 2 files deleted here while this was a backup would go to the server’s trash.');
  assert.equal(switched.heldMore, 0);
  const broken = toPairVm(pair({ state: 'unavailable', stateDetail: detail({ code: 'local-io', message: '/home/ann/Photos is gone' }) }), en);
  assert.equal(broken.detail, '/home/ann/Photos is gone');
  assert.equal(broken.pendingDeletes, null);
  assert.deepEqual(broken.heldPaths, []);
  const gone = toPairVm(pair({ state: 'remote-missing', stateDetail: detail({ code: 'remote-missing', message: 'cloudreve://my/Photos is gone' }) }), zh);
  assert.equal(gone.stateLabel, '服务器上的文件夹已不存在');
  assert.equal(gone.detail, '服务器上的文件夹已不存在；本地没有删除任何文件。');
  assert.equal(toPairVm(pair({ state: 'remote-missing' }), en).detail, 'The folder on the server is gone; nothing was deleted here.');
  // two-way: the server folder gone asks whether to put it back or follow it; other held deletions say "the trash"
  const twoGone = toPairVm(pair({ mode: 'two-way', state: 'needs-confirmation', stateDetail: detail({ code: 'remote-gone', message: 'gone', pendingDeletes: 3, paths: ['a', 'b', 'c'] }) }), en);
  assert.equal(twoGone.remoteGone, true);
  assert.match(twoGone.detail, /^The pair's folder on the server is gone or empty\. .*move 3 files here to this computer's trash/);
  assert.equal(held.remoteGone, false);
  const twoHeld = toPairVm(pair({ mode: 'two-way', state: 'needs-confirmation', stateDetail: detail({ code: 'mass-delete', message: 'held', pendingDeletes: 60 }) }), en);
  assert.equal(twoHeld.detail, 'Move 60 files to the trash, as deleted on the other side?');
  assert.equal(twoHeld.remoteGone, false);
});

test('files not backed up: worded from the codes in the user\'s language, the most frequent first; never "up to date"', () => {
  const ns = (byCode: Record<string, number>) => ({ count: Object.values(byCode).reduce((a, b) => a + b, 0), byCode });
  const table: Array<[Record<string, number>, string, string]> = [
    [{ quota: 12 }, '12 files not backed up: storage full', '12 个文件未备份：存储空间已满'],
    [{ unreadable: 1 }, '1 file not backed up: cannot be read', '1 个文件未备份：无法读取'],
    [{ unreadable: 2, quota: 10 }, '12 files not backed up: storage full (10), cannot be read (2)', '12 个文件未备份：存储空间已满（10）、无法读取（2）'],
    [{ locked: 1, 'too-large': 1 }, '2 files not backed up: too large for the server (1), locked on the server (1)', '2 个文件未备份：超出服务器允许的大小（1）、在服务器上被锁定（1）'],
    [
      { quota: 4, unreadable: 3, 'name-refused': 2, 'name-twins': 1 },
      '10 files not backed up: storage full (4), cannot be read (3), name not allowed on the server (2), …',
      '10 个文件未备份：存储空间已满（4）、无法读取（3）、服务器不接受此名称（2）、…',
    ],
    [{ 'brand-new-code': 3 }, '3 files not backed up: upload failed', '3 个文件未备份：上传失败'],
  ];
  for (const [byCode, e, z] of table) {
    assert.equal(notSyncedText(ns(byCode), en), e, JSON.stringify(byCode));
    assert.equal(notSyncedText(ns(byCode), zh), z, JSON.stringify(byCode));
  }
  assert.equal(notSyncedText(null, en), '');
  assert.equal(notSyncedText({ count: 0, byCode: {} }, en), '');
  assert.equal(notSyncedText({ count: 5, byCode: {} }, en), '5 files not backed up: upload failed');

  const incomplete = pair({ state: 'incomplete', stateDetail: detail({ code: 'quota', message: '12 paths not on the server: quota', notSynced: { count: 12, byCode: { quota: 12 } } }) });
  const vm = toPairVm(incomplete, en);
  assert.equal(vm.stateLabel, 'Not all files backed up');
  assert.equal(vm.notSynced, '12 files not backed up: storage full');
  assert.equal(vm.detail, '', 'the engine\'s English sentence is not shown');
  assert.equal(toPairVm(incomplete, zh).notSynced, '12 个文件未备份：存储空间已满');
  // a pair that reads idle but counts missing files is not "up to date"
  const idleButMissing = pair({ state: 'idle', stateDetail: detail({ notSynced: { count: 1, byCode: { quota: 1 } } }) });
  assert.equal(shownState(idleButMissing), 'incomplete');
  assert.notEqual(toPairVm(idleButMissing, en).stateLabel, 'Up to date');
  // while a pass runs, the files still missing stay shown
  const syncing = toPairVm(pair({ state: 'syncing', stateDetail: detail({ notSynced: { count: 3, byCode: { 'retry-spent': 3 } } }) }), en);
  assert.equal(syncing.stateLabel, 'Syncing');
  assert.equal(syncing.notSynced, '3 files not backed up: the server kept failing');
});

test('one file not backed up: its reason and, when it waits, the next try', () => {
  const now = 1_000_000_000;
  const i = (over: Partial<SyncIssueDto>): SyncIssueDto => ({ pairId: 'p1', relPath: 'a.txt', code: 'quota', message: 'm', retryAt: null, attempts: 1, since: now - 1000, ...over });
  assert.equal(issueText(i({}), en, now), 'storage full');
  assert.equal(issueText(i({ code: 'locked', retryAt: now + 5 * 60_000 }), en, now), 'locked on the server · next try in 5 minutes');
  assert.equal(issueText(i({ code: 'locked', retryAt: now + 5 * 60_000 }), zh, now), '在服务器上被锁定 · 下次重试：5分钟后');
  assert.equal(issueText(i({ retryAt: now - 1 }), en, now), 'storage full', 'a time gone by: the next pass');
});

test('freshness: last full scan and last change, relative, in both languages', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  assert.equal(freshness(pair(), en, now).text, 'Not checked yet');
  assert.equal(freshness(pair({ lastScanAt: now - 90_000 }), en, now).text, 'Last checked 1 minute ago');
  const f = freshness(pair({ lastScanAt: now - 10_000, lastFullScanAt: now - 5 * 60_000, lastChangeAt: now - 20_000 }), en, now);
  assert.equal(f.text, 'Last full scan 5 minutes ago · last change 20 seconds ago');
  assert.match(f.title, /^Last full scan .*2026.* · last change .*2026/);
  assert.equal(freshness(pair({ lastFullScanAt: now - 5 * 60_000, lastChangeAt: now - 2000 }), zh, now).text, '上次完整扫描：5分钟前 · 上次变化：刚刚');
  assert.equal(toPairVm(pair({ lastFullScanAt: now - 3 * 3600_000 }), en, now).freshness, 'Last full scan 3 hours ago');
});

test('conflict reasons are worded from the code in the user\'s language; an unknown code shows the engine\'s sentence', () => {
  const c = (reasonCode: string): ConflictDto => ({ id: 1, pairId: 'p1', relPath: 'a', remoteUri: 'r', conflictUri: 'c', reasonCode: reasonCode as ConflictDto['reasonCode'], reason: 'the engine said so', createdAt: 1 });
  assert.equal(conflictReason(c('changed-both'), en), 'Changed here and on the server since the last upload');
  assert.equal(conflictReason(c('changed-both'), zh), '自上次上传以来，本地和服务器上都修改过');
  for (const code of ['exists-different', 'changed-remote', 'appeared-remote']) {
    assert.match(conflictReason(c(code), zh), /[\u4e00-\u9fff]/, code);
    assert.doesNotMatch(conflictReason(c(code), zh), /engine/, code);
  }
  assert.equal(conflictReason(c('from-the-future'), zh), 'the engine said so');
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
