/**
 * The watcher's blind spots, on real folders: the root folder moved away and back, deleted and made again, or
 * replaced under its path, is watched again and a full scan asked for; an inotify queue overflow asks for a full
 * scan and watches the folders whose making was lost; FUSE and network mounts are told apart from local disks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNetworkFolder, isNetworkFsType, linuxMountType, watchFolder, type Watcher } from '../../../main/engine/watcher/watcher.js';
import { tmpDir } from '../../helpers/tmp-tree.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (at most `ms`) for `cond`; fails with `what` when it does not come. */
async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await sleep(50);
  assert.ok(cond(), what);
}

interface Seen {
  rels: Set<string>;
  rescans: string[];
  lost: string[];
  back: number;
}

async function watching(
  root: string,
  strategy: 'per-folder' | 'recursive',
  extra: { overflowBurst?: number; noRescanTaker?: boolean } = {},
): Promise<{ w: Watcher; seen: Seen }> {
  const seen: Seen = { rels: new Set(), rescans: [], lost: [], back: 0 };
  const w = await watchFolder({
    root,
    settleMs: 100,
    maxWaitMs: 10_000,
    strategy,
    rootCheckMs: 200,
    overflowBurst: extra.overflowBurst,
    ignored: () => false,
    onChanges: (rels) => rels.forEach((r) => seen.rels.add(r)),
    onFallback: (reason) => assert.fail(reason),
    onFullRescan: extra.noRescanTaker ? undefined : (reason) => seen.rescans.push(reason),
    onRootLost: (reason) => seen.lost.push(reason),
    onRootBack: () => seen.back++,
  });
  return { w, seen };
}

for (const strategy of ['per-folder', 'recursive'] as const) {
  test(`${strategy}: the root folder moved away and back is watched again, and a full scan is asked for`, async () => {
    const d = tmpDir();
    const root = join(d.path, 'pair');
    mkdirSync(join(root, 'sub'), { recursive: true });
    const { w, seen } = await watching(root, strategy);
    try {
      assert.equal(w.lastChangeAt, null, 'no change seen yet');
      assert.equal(w.rootState, 'watching');
      renameSync(root, join(d.path, 'away'));
      await until(() => seen.lost.length === 1, 'the loss is noticed');
      assert.equal(w.rootState, 'lost');
      await sleep(400); // a few checks while it is away: still one loss
      renameSync(join(d.path, 'away'), root);
      await until(() => seen.back === 1 && seen.rescans.length === 1, `back and a full scan asked for (${JSON.stringify(seen)})`);
      assert.equal(w.rootState, 'watching');
      assert.equal(seen.lost.length, 1);
      const before = Date.now();
      writeFileSync(join(root, 'sub', 'after.txt'), 'a');
      await until(() => seen.rels.has('sub/after.txt'), `a change after the return is reported (${JSON.stringify([...seen.rels])})`);
      assert.ok((w.lastChangeAt ?? 0) >= before, 'lastChangeAt is the time of that change');
    } finally {
      await w.close();
      d.cleanup();
    }
  });

  test(`${strategy}: the root folder deleted and made again is watched again`, async () => {
    const d = tmpDir();
    const root = join(d.path, 'pair');
    mkdirSync(root);
    // without an onFullRescan taker, the root folder itself is reported changed
    const { w, seen } = await watching(root, strategy, { noRescanTaker: true });
    try {
      rmSync(root, { recursive: true });
      await until(() => seen.lost.length === 1, 'the loss is noticed');
      mkdirSync(join(root, 'new'), { recursive: true });
      await until(() => seen.back === 1, 'the new folder is watched');
      await until(() => seen.rels.has('.'), 'the root folder is reported for a look');
      writeFileSync(join(root, 'new', 'n.txt'), 'n');
      await until(() => seen.rels.has('new/n.txt'), `a change in it is reported (${JSON.stringify([...seen.rels])})`);
    } finally {
      await w.close();
      d.cleanup();
    }
  });
}

test('a root reached through a link that is retargeted (a disk mounted over the path) is watched anew, without any event', async () => {
  const d = tmpDir();
  mkdirSync(join(d.path, 'a'));
  mkdirSync(join(d.path, 'b'));
  const root = join(d.path, 'pair');
  symlinkSync(join(d.path, 'a'), root);
  const { w, seen } = await watching(root, 'per-folder');
  try {
    symlinkSync(join(d.path, 'b'), join(d.path, 'pair.new'));
    renameSync(join(d.path, 'pair.new'), root); // atomic: the path never goes missing
    await until(() => seen.rescans.length === 1, 'a full scan is asked for');
    assert.match(seen.rescans[0], /replaced/);
    assert.deepEqual(seen.lost, [], 'never gone');
    writeFileSync(join(d.path, 'b', 'in-b.txt'), 'b');
    await until(() => seen.rels.has('in-b.txt'), 'the new folder is watched');
    writeFileSync(join(d.path, 'a', 'in-a.txt'), 'a');
    await sleep(500);
    assert.ok(!seen.rels.has('in-a.txt'), 'the old one is not');
  } finally {
    await w.close();
    d.cleanup();
  }
});

test('Linux: an inotify queue overflow asks for a full scan and watches the folders made meanwhile; a smaller burst does not', { skip: process.platform !== 'linux' }, async (t) => {
  const limit = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
  if (!(limit > 0 && limit <= 100_000)) {
    t.skip(`max_queued_events is ${limit}: too many files to make`);
    return;
  }
  const d = tmpDir();
  const { w, seen } = await watching(d.path, 'per-folder');
  try {
    // the event loop is blocked while a child makes the files, so the events queue up in the kernel
    execFileSync('sh', ['-c', 'seq 1 200 | sed s/^/small/ | xargs touch'], { cwd: d.path });
    await until(() => seen.rels.has('small200'), 'the small burst is reported');
    await sleep(300);
    assert.deepEqual(seen.rescans, [], 'a burst well under the queue limit is not an overflow');

    mkdirSync(join(d.path, 'flood'));
    await sleep(300);
    // two events per file (made, then its time set), the folder made last: its event is lost with the overflow
    execFileSync('sh', ['-c', `seq 1 ${limit} | sed s/^/f/ | xargs touch && mkdir late`], { cwd: join(d.path, 'flood') });
    await until(() => seen.rescans.length >= 1, 'the overflow asks for a full scan', 15_000);
    assert.match(seen.rescans[0], /overflowed/);
    assert.equal(seen.rescans.length, 1, 'once per burst');
    // the tree is walked again: the new folder is watched and what is in it reported, whichever comes first
    writeFileSync(join(d.path, 'flood', 'late', 'x.txt'), 'x');
    await until(() => seen.rels.has('flood/late/x.txt'), 'what is in the folder made during the overflow is reported', 15_000);
    await until(() => seen.rels.size > limit / 4, 'the events queued before the overflow are still reported', 15_000);
    writeFileSync(join(d.path, 'flood', 'late', 'y.txt'), 'y');
    await until(() => seen.rels.has('flood/late/y.txt'), 'the folder made during the overflow is watched', 15_000);
  } finally {
    await w.close();
    d.cleanup();
  }
});

test('FUSE and network mounts are scanned periodically; fuseblk (ntfs-3g on a local disk) and local disks are watched', async () => {
  const mountinfo = [
    '22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw',
    '35 22 0:31 / /home rw,relatime shared:15 - btrfs /dev/sda3 rw,subvol=/home',
    '90 35 0:52 / /home/me/nas rw,nosuid,nodev,relatime shared:50 - fuse.sshfs me@nas:/srv rw,user_id=1000,group_id=1000',
    '91 35 0:53 / /home/me/gdrive rw,nosuid,nodev,relatime shared:51 - fuse.rclone gdrive: rw,user_id=1000,group_id=1000',
    '92 40 0:54 / /run/user/1000/gvfs rw,nosuid,nodev,relatime shared:52 - fuse.gvfsd-fuse gvfsd-fuse rw,user_id=1000,group_id=1000',
    '93 22 8:17 / /media/me/Windows\\040Disk rw,nosuid,nodev,relatime shared:53 - fuseblk /dev/sdb1 rw,user_id=0,group_id=0,allow_other',
    '94 22 0:55 / /mnt/nfs rw,relatime shared:54 - nfs4 srv:/export rw,vers=4.2',
    '95 22 8:2 /srv/photos /home/me/photos rw,relatime shared:1 - ext4 /dev/sda2 rw',
    '96 22 8:33 / /mnt/usb rw - ext4 /dev/sdc1 rw',
    '97 96 0:57 / /mnt/usb rw - fuse.sshfs other:/ rw',
    'garbage line',
  ].join('\n');
  assert.equal(linuxMountType(mountinfo, '/home/me/nas/docs/a.txt'), 'fuse.sshfs');
  assert.equal(linuxMountType(mountinfo, '/home/me/nas'), 'fuse.sshfs');
  assert.equal(linuxMountType(mountinfo, '/home/me/nasty'), 'btrfs', 'a mount point is a whole path component');
  assert.equal(linuxMountType(mountinfo, '/home/me/gdrive/x'), 'fuse.rclone');
  assert.equal(linuxMountType(mountinfo, '/run/user/1000/gvfs/smb-share:server=nas,share=photos'), 'fuse.gvfsd-fuse');
  assert.equal(linuxMountType(mountinfo, '/media/me/Windows Disk/Users'), 'fuseblk', 'an escaped space');
  assert.equal(linuxMountType(mountinfo, '/mnt/nfs/a'), 'nfs4');
  assert.equal(linuxMountType(mountinfo, '/mnt/usb/x'), 'fuse.sshfs', 'the last of two mounts on one point is on top');
  assert.equal(linuxMountType(mountinfo, '/etc/hosts'), 'ext4');
  assert.equal(linuxMountType(mountinfo, '/home/me/elsewhere', { major: 0, minor: 52 }), 'fuse.sshfs', 'the device decides');
  assert.equal(linuxMountType(mountinfo, '/home/me/photos/2024', { major: 8, minor: 2 }), 'ext4');
  assert.equal(linuxMountType(mountinfo, '/home/me/x', { major: 9, minor: 9 }), 'btrfs', 'no such device: by path');
  assert.equal(linuxMountType('', '/x'), null);

  for (const t of ['fuse.sshfs', 'fuse.rclone', 'fuse.gvfsd-fuse', 'fuse', 'fuse.s3fs', 'nfs', 'nfs4', 'cifs', 'smb3', '9p', 'ceph', 'smbfs', 'afpfs', 'webdav', 'macfuse', 'osxfuse']) {
    assert.equal(isNetworkFsType(t), true, t);
  }
  for (const t of ['fuseblk', 'ext4', 'btrfs', 'xfs', 'tmpfs', 'ntfs3', 'vfat', 'exfat', 'apfs', 'hfs', 'overlay']) {
    assert.equal(isNetworkFsType(t), false, t);
  }
  const d = tmpDir();
  try {
    assert.equal(await isNetworkFolder(d.path), false, 'a temp folder on this machine');
  } finally {
    d.cleanup();
  }
});
