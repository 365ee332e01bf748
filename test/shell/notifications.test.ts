import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import {
  createNotifier,
  folderName,
  NotificationQueue,
  planNotifications,
  type NotificationCommand,
  type NotificationModel,
  type ShellEvent,
} from '../../main/shell/notifications.js';

const failed = (id: string, code = 'quota', message = 'Insufficient capacity'): ShellEvent => ({ type: 'transfer-failed', id, name: `${id}.jpg`, error: { code, message } });
const finished = (over: Partial<Extract<ShellEvent, { type: 'upload-finished' }>> = {}): ShellEvent => ({
  type: 'upload-finished',
  requestId: 'r1',
  names: ['report.pdf'],
  targetUri: 'cloudreve://my/Inbox',
  done: 1,
  skipped: 0,
  failed: 0,
  cancelled: 0,
  shareUri: 'cloudreve://my/Inbox/report.pdf',
  ...over,
});
const brief = (ns: NotificationModel[]) => ns.map((n) => `${n.title} | ${n.body}${n.action ? ` [${n.action.label}]` : ''}${n.urgent ? ' !' : ''}`);

test('what is worth a notification (table)', () => {
  const table: Array<[string, ShellEvent[], string[]]> = [
    ['nothing', [], []],
    ['a finished shell-menu upload, with the share-link action', [finished()], ['Uploaded report.pdf | 1 file in Inbox. [Copy share link]']],
    ['a finished folder upload, some already there', [finished({ names: ['Photos'], done: 10, skipped: 2, targetUri: 'cloudreve://my/' })], ['Uploaded Photos | 12 files in My files (2 already there). [Copy share link]']],
    ['partly failed', [finished({ names: ['a', 'b'], done: 3, failed: 1 })], ['Upload of 2 items finished with problems | 3 of 4 uploaded to Inbox, 1 failed. [Copy share link] !']],
    ['everything failed: no share link', [finished({ done: 0, failed: 1 })], ['Upload of report.pdf finished with problems | 0 of 1 uploaded to Inbox, 1 failed. !']],
    ['cancelled by the user', [finished({ done: 0, cancelled: 1 })], ['Upload of report.pdf finished | 0 of 1 uploaded to Inbox, 1 cancelled.']],
    ['one failure that needs the user', [failed('a')], ['Could not upload a.jpg | Insufficient capacity !']],
    ['several failures: one summary', [failed('a'), failed('b'), failed('c'), failed('d')], ['4 files could not be uploaded | a.jpg, b.jpg, c.jpg and 1 more. Open Cloudreve Sync to see why and retry. !']],
    ['a lost login is not a per-file failure', [failed('a', 'login-required', 'log in again')], []],
    [
      'an expired login, with the failures it caused folded in',
      [failed('a', 'login-required', 'x'), { type: 'login-expired', email: 'u@example.com' }],
      ['Signed out of Cloudreve | The login of u@example.com expired. Uploads wait until you sign in again. [Sign in] !'],
    ],
    ['a conflict', [{ type: 'conflict-added', id: 7, relPath: 'docs/a.txt' }], ['A file changed on both sides | docs/a.txt: both versions were kept.']],
    [
      'several conflicts',
      [{ type: 'conflict-added', id: 7, relPath: 'a' }, { type: 'conflict-added', id: 8, relPath: 'b' }],
      ['2 files changed on both sides | Both versions of each were kept. Open Cloudreve Sync to review them.'],
    ],
    [
      'more than three kinds at once: the last is a summary',
      [{ type: 'login-expired', email: '' }, failed('a'), { type: 'conflict-added', id: 1, relPath: 'x' }, finished()],
      [
        'Signed out of Cloudreve | The login of your account expired. Uploads wait until you sign in again. [Sign in] !',
        'Could not upload a.jpg | Insufficient capacity !',
        '2 more updates from Cloudreve Sync | A file changed on both sides; Uploaded report.pdf',
      ],
    ],
  ];
  for (const [name, events, expected] of table) assert.deepEqual(brief(planNotifications(events)), expected, name);
});

test('commands: the share-link action names what was sent; clicks open the right view', () => {
  const [n] = planNotifications([finished()]);
  assert.deepEqual(n.action?.command, { type: 'copy-share-link', uri: 'cloudreve://my/Inbox/report.pdf' });
  assert.deepEqual(n.click, { type: 'open-window', view: 'history' });
  assert.deepEqual(planNotifications([failed('a')])[0].click, { type: 'open-window', view: 'queue' });
  assert.deepEqual(planNotifications([{ type: 'login-expired', email: '' }])[0].click, { type: 'open-window', view: 'sign-in' });
});

test('folderName', () => {
  assert.equal(folderName('cloudreve://my/'), 'My files');
  assert.equal(folderName('cloudreve://my'), 'My files');
  assert.equal(folderName('cloudreve://my/Photos/2024%20Trip/'), 'Photos/2024 Trip');
});

/** A manual clock and timers for the queue. */
function clock() {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let next = 1;
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimer: (id: unknown) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    advance(ms: number) {
      now += ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > now) break;
        timers.shift();
        t.fn();
      }
    },
  };
}

test('a burst of 1,000 failures is one notification; later ones wait for the minimum gap', () => {
  const c = clock();
  const shown: NotificationModel[] = [];
  const q = new NotificationQueue({ show: (n) => shown.push(n), collectMs: 1500, minGapMs: 10_000, ...c });
  for (let i = 0; i < 1000; i++) {
    q.push(failed(`f${i}`));
    if (i % 100 === 0) c.advance(1); // the burst takes a little while
  }
  assert.equal(shown.length, 0, 'collecting');
  c.advance(1500);
  assert.deepEqual(brief(shown), ['1000 files could not be uploaded | f0.jpg, f1.jpg, f2.jpg and 997 more. Open Cloudreve Sync to see why and retry. !']);
  q.push(failed('late'));
  c.advance(1500);
  assert.equal(shown.length, 1, 'not before the gap');
  c.advance(10_000);
  assert.deepEqual(brief(shown.slice(1)), ['Could not upload late.jpg | Insufficient capacity !']);
  q.dispose();
});

test('more than 10,000 queued failures: the surplus is still counted', () => {
  const c = clock();
  const shown: NotificationModel[] = [];
  const q = new NotificationQueue({ show: (n) => shown.push(n), ...c });
  for (let i = 0; i < 12_000; i++) q.push(failed(`f${i}`));
  c.advance(2000);
  assert.equal(shown.length, 1);
  assert.match(shown[0].title, /^12000 files could not be uploaded$/);
});

test('the Electron binding: button = the action, click = the click command, urgency from the model', () => {
  const made: FakeNote[] = [];
  class FakeNote extends EventEmitter {
    shown = false;
    constructor(readonly options: Record<string, unknown>) {
      super();
      made.push(this);
    }
    static isSupported() {
      return true;
    }
    show() {
      this.shown = true;
    }
  }
  const ran: NotificationCommand[] = [];
  const notify = createNotifier({ Notification: FakeNote as never }, '/icon.png', (c) => ran.push(c));
  const [n] = planNotifications([finished()]);
  notify(n);
  assert.equal(made[0].shown, true);
  assert.deepEqual(made[0].options.actions, [{ type: 'button', text: 'Copy share link' }]);
  assert.equal(made[0].options.urgency, 'normal');
  made[0].emit('action', {}, 0);
  made[0].emit('click');
  assert.deepEqual(ran, [n.action!.command, n.click]);
  notify(planNotifications([failed('a')])[0]);
  assert.deepEqual(made[1].options.actions, []);
  assert.equal(made[1].options.urgency, 'critical');
});
