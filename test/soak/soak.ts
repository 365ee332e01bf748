/**
 * `npm run soak`: the chaos soak. The emulator runs in this process; the client under test is the CLI's `run` as a
 * separate process on a fresh home. Four seeded drivers (files, conflicts, server faults, kill -9 of the client) run
 * for the given minutes; then the faults stop, the client is restarted once and left to settle, the conflicts are
 * checked and resolved through the CLI, a quiet round of renames and moves runs, and the invariants are checked
 * (see invariants.ts and the README's "Reliability" section). Exit 0 when every invariant holds, 1 when one
 * fails (printing the seed, the invariant, the paths and the tail of the event log), 2 on a usage error, 130 when
 * interrupted (Ctrl-C: the chaos stops, the client is killed, nothing is checked).
 */
import { mkdirSync, mkdtempSync, readdirSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator, type EmulatorPolicy, type FileEventInfo, type PartAccepted } from '../emulator/index.js';
import { ClientProcess, clientEnvExtra, runCliCommand } from './client-process.js';
import { EventLog } from './event-log.js';
import { ConflictChaos, CONFLICT_FOLDER } from './conflict-chaos.js';
import { FileChaos, type DriverMove } from './file-chaos.js';
import {
  checkConflictVersions,
  checkConverged,
  checkJournal,
  checkLocalRemovals,
  checkLocalUntouched,
  checkNoConflictsLeft,
  checkQuietMoves,
  checkRemoteContent,
  checkRemovals,
  checkResend,
  checkResolutions,
  checkServerTrashSeen,
  checkSessions,
  checkTrashKept,
  checkVersionsKept,
  checkWhole,
  remoteArrivals,
  remoteDeletions,
  remoteOrigins,
  resendAfterCrashes,
  type Crash,
  type RemoteContent,
  type ResolutionObserved,
  type Violation,
} from './invariants.js';
import { LocalModel, VersionLedger, hashFile, isPartial, type FileRecord } from './local-model.js';
import { RemoteChurn, localTrashContents, serverTrashContents } from './remote-churn.js';
import { RandomSource } from './random-source.js';
import { RemoteTree, childUri } from './remote-tree.js';
import { BIG_QUOTA, ServerChaos } from './server-chaos.js';
import { SOAK_USAGE, parseSoakArgs, type SoakOptions } from './soak-options.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REMOTE = 'cloudreve://my/soak';

/** Part size per policy type: small, so that files span many parts (vendors' documented minimums kept). */
function policyFor(o: SoakOptions): EmulatorPolicy {
  const mib = 1024 * 1024;
  const chunkSize = ['s3', 'ks3', 'oss', 'cos', 'obs'].includes(o.policy) ? 5 * mib : o.policy === 'onedrive' ? 4 * 320 * 1024 : mib;
  return { type: o.policy, encryption: o.encryption, chunkSize, chunkConcurrency: 3 };
}

async function walkLocal(root: string): Promise<Map<string, FileRecord>> {
  const out = new Map<string, FileRecord>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      if (isPartial(name)) continue; // a download's hidden temporary file (two-way)
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isDirectory()) await walk(abs, r);
      else out.set(r, { hash: await hashFile(abs), size: st.size, ino: st.ino, ctimeMs: st.ctimeMs });
    }
  };
  await walk(root, '');
  return out;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** `pairs issues --json` (through the running client's control socket, or on the home when none runs). */
async function listIssues(home: string): Promise<Array<{ relPath: string; code: string; message: string; retryAt: number | null }>> {
  const r = await runCliCommand(home, ['pairs', 'issues', '--json']);
  if (r.code !== 0) throw new Error(`pairs issues failed (${r.code}): ${r.err.trim()}`);
  return JSON.parse(r.out.trim() || '[]');
}

/** Every file under the pair on the server with its content's hash (placeholders as uploading). */
async function readRemote(reader: RemoteTree, uri: string): Promise<{ remote: Map<string, RemoteContent>; listed: number; bytes: number }> {
  const listed = await reader.files(uri);
  const remote = new Map<string, RemoteContent>();
  let bytes = 0;
  await mapLimit(listed, 6, async (f) => {
    if (f.uploading) {
      remote.set(f.path, { hash: '', uploading: true });
      return;
    }
    const h = await reader.hash(childUri(uri, f.path));
    bytes += h.bytes;
    remote.set(f.path, { hash: h.hash, uploading: false });
  });
  return { remote, listed: listed.length, bytes };
}

function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export async function soak(o: SoakOptions): Promise<number> {
  const out = o.out ?? mkdtempSync(join(tmpdir(), 'cr-soak-'));
  mkdirSync(out, { recursive: true });
  const root = join(out, 'sync');
  const home = join(out, 'home');
  const data = join(out, 'server');
  const twoWay = o.mode === 'two-way';
  // two-way: the client's own HOME and XDG_DATA_HOME here, so that its freedesktop trash is on the sync root's disk
  // and readable at the end
  const userHome = join(out, 'user-home');
  const xdgData = join(out, 'xdg');
  for (const d of twoWay ? [root, home, data, userHome, xdgData] : [root, home, data]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  const log = new EventLog(join(out, 'events.jsonl'));
  const rnd = new RandomSource(o.seed);
  const replay = `npm run soak -- --seed ${o.seed} --minutes ${o.minutes} --policy ${o.policy} --mode ${o.mode}${o.encryption ? '' : ' --no-encryption'} --big-size ${o.bigBytes} --burst ${o.burstFiles} --max-files ${o.maxFiles}`;
  const policy = policyFor(o);
  const emu: Emulator = await startEmulator({ dataDir: data, policy, quota: BIG_QUOTA, accessTtl: 3600 });
  log.write('start', { seed: o.seed, options: o, policy, server: emu.url, out, replay });
  process.stderr.write(`soak: seed ${o.seed}, ${o.minutes} min, policy ${o.policy}${o.encryption ? ' (encrypted)' : ''}, mode ${o.mode}; log ${join(out, 'events.jsonl')}\n`);

  const parts: PartAccepted[] = [];
  const fileEvents: FileEventInfo[] = [];
  emu.onPart((p) => {
    parts.push(p);
    log.write('part', { session: p.session, uri: p.uri, index: p.index, of: p.of, bytes: p.bytes });
  });
  // file events under the pair's remote folder, with paths relative to it (as the model's)
  const remoteRoot = REMOTE.slice('cloudreve://my/'.length);
  const inPair = (p: string) => (p === remoteRoot ? '' : p.startsWith(remoteRoot + '/') ? p.slice(remoteRoot.length + 1) : null);
  emu.onFileEvent((e) => {
    const from = inPair(e.from);
    const to = e.to === undefined ? undefined : inPair(e.to);
    if (from === null) return;
    fileEvents.push({ ...e, from, ...(to !== undefined && to !== null ? { to } : {}) });
    // what the server did to committed files, for the diagnosis of a broken invariant (placeholders left out)
    if (e.kind !== 'create') log.write('server', { event: e.kind === 'modify' ? 'commit' : e.kind === 'delete' ? 'trash' : 'move', path: from, ...(to ? { to } : {}) });
  });

  const model = new LocalModel(root);
  if (twoWay) {
    model.shared = true;
    model.ledger = new VersionLedger();
    clientEnvExtra.HOME = userHome;
    clientEnvExtra.XDG_DATA_HOME = xdgData;
  }
  const files = new FileChaos(model, rnd.fork(1), log, { burstFiles: o.burstFiles, bigBytes: o.bigBytes, maxFiles: o.maxFiles });
  const chaos = new ServerChaos(emu, rnd.fork(2), log, o.policy);
  const procRnd = rnd.fork(3);
  const client = new ClientProcess(home, join(out, 'client.log'));
  const reader = new RemoteTree(emu.url, emu.email, emu.password);
  const conflicts = new ConflictChaos(model, rnd.fork(6), log, reader, REMOTE, client, { target: Math.max(2, Math.min(8, Math.round(o.minutes * 1.5))), twoWay });
  const churn = new RemoteChurn(model, rnd.fork(8), log, reader, REMOTE, () => (files.burstFolder ? [files.burstFolder] : []));
  /** two-way: take in what the client changed here before the driver acts (it downloads, renames and trashes too) */
  const resync = async (why: string) => {
    if (!twoWay) return;
    const r = await model.resync();
    if (r.adopted || r.gone) log.write('resync', { why, ...r });
  };
  const crashes: Crash[] = [];
  const violations: Violation[] = [];
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = Date.now();
  let pairId = '';
  try {
    const login = await runCliCommand(home, ['login', '--server', emu.url, '--email', emu.email, '--password-stdin'], { stdin: emu.password + '\n' });
    if (login.code !== 0) throw new Error(`login failed (${login.code}): ${login.err}`);
    const add = await runCliCommand(home, ['pairs', 'add', root, REMOTE, '--mode', o.mode, '--json']);
    if (add.code !== 0) throw new Error(`pairs add failed (${add.code}): ${add.err}`);
    pairId = JSON.parse(add.out).id;
    log.write('client', { action: 'setup', pair: pairId });

    await files.big();
    for (let i = 0; i < 10; i++) await files.step();
    // a step of the file driver; in two-way a file the client just moved or trashed makes an operation fail (logged)
    const fileStep = async (): Promise<void> => {
      if (!twoWay) return files.step();
      await resync('file step');
      try {
        await files.step();
      } catch (err) {
        log.write('file', { op: 'failed', error: String((err as Error)?.message ?? err) });
      }
    };
    client.start();
    log.write('client', { action: 'start', pid: client.pid });

    const deadline = started + o.minutes * 60_000;
    const running = () => !stopping && Date.now() < deadline;
    const fileLoop = async () => {
      const rf = rnd.fork(4);
      const burstAt = started + o.minutes * 60_000 * (0.1 + 0.3 * rf.next());
      const massAt = started + o.minutes * 60_000 * 0.7;
      let burstDone = o.burstFiles <= 0;
      let massDone = o.burstFiles <= 0;
      while (running()) {
        if (!burstDone && Date.now() >= burstAt) {
          files.burst();
          burstDone = true;
        } else if (burstDone && !massDone && Date.now() >= massAt) {
          files.deleteBurst();
          massDone = true;
        } else await fileStep();
        await sleep(rf.int(100, 1500));
      }
    };
    const churnLoop = async () => {
      if (!twoWay) return;
      const rf = rnd.fork(9);
      while (running()) {
        await sleep(rf.int(1000, 6000));
        if (!running()) break;
        await churn.step();
      }
    };
    const conflictLoop = async () => {
      const rf = rnd.fork(7);
      while (running()) {
        await sleep(rf.int(3000, 10_000));
        if (!running()) break;
        await conflicts.step();
      }
    };
    const faultLoop = async () => {
      const rf = rnd.fork(5);
      while (running()) {
        await sleep(rf.int(2000, 12_000));
        if (!running()) break;
        await chaos.step();
      }
    };
    const killLoop = async () => {
      while (running()) {
        await sleep(procRnd.int(15_000, 75_000));
        if (!running()) break;
        const inFlight = emu.partsInFlight();
        crashes.push({ at: Date.now(), partsInFlight: inFlight });
        log.write('kill', { signal: 'SIGKILL', pid: client.pid, partsInFlight: inFlight, pairState: client.pairState });
        await client.kill9();
        await sleep(procRnd.int(200, 3000));
        client.start();
        log.write('client', { action: 'restart', pid: client.pid });
      }
    };
    const watchdog = async () => {
      // a client that exits by itself is a crash: noted (an invariant) and restarted so the soak goes on
      let seen = 0;
      while (running()) {
        await sleep(1000);
        if (client.crashes.length > seen) {
          const c = client.crashes[client.crashes.length - 1];
          seen = client.crashes.length;
          log.write('client-crash', { code: c.code, signal: c.signal });
          if (!client.running) client.start();
        }
      }
    };
    await Promise.all([fileLoop(), churnLoop(), conflictLoop(), faultLoop(), killLoop(), watchdog()]);
    if (stopping) {
      log.write('interrupted', {});
      process.stdout.write(`\nsoak interrupted (seed ${o.seed}); nothing checked; files kept in ${out}\n`);
      return 130;
    }

    // ---- settle: faults off, the client restarted once (a full scan, as after a reboot), left until idle
    log.write('settle', { action: 'faults off' });
    await chaos.calm();
    await client.stop();
    client.start();
    log.write('client', { action: 'restart for the settle', pid: client.pid });
    const settleDeadline = Date.now() + o.settleTimeoutS * 1000;
    let settled = false;
    /** paths the pair says wait for a retry time by design (a lock the chaos faked: tried again some minutes later) */
    let waiting: Array<{ relPath: string; code: string; retryAt: number | null }> = [];
    let issues: Awaited<ReturnType<typeof listIssues>> = [];
    let confirms = 0;
    let firstConfirmAt = Infinity;
    while (Date.now() < settleDeadline) {
      await sleep(1000);
      if (!client.running) {
        log.write('client-crash', { during: 'settle' });
        client.start();
      }
      if (!['idle', 'needs-confirmation', 'incomplete'].includes(client.pairState) || Date.now() - client.lastOutputAt < 10_000) continue;
      // what the pair says is not on the server: nothing, or only files waiting for a lock the soak faked
      issues = await listIssues(home).catch(() => issues);
      const byDesign = issues.filter((i) => i.code === 'locked' && i.retryAt !== null && i.retryAt > Date.now() && (chaos.injected.get('lock-conflict') ?? 0) > 0);
      if (issues.length === byDesign.length && Date.now() - client.lastOutputAt >= 10_000) {
        if (twoWay && client.pairState === 'needs-confirmation' && confirms < 3) {
          // two-way: the guard must have held the mass delete back (the burst still on the server); then it is
          // confirmed, as the user would, and the pair settles again (every deletion the guard held goes ahead)
          const detail = (client.pairDetail ?? {}) as { code?: string; pendingDeletes?: number };
          if (confirms === 0 && files.burstDeleted.length > 0) {
            const there = new Set((await reader.files(REMOTE)).map((f) => f.path));
            const kept = files.burstDeleted.filter((p) => there.has(p)).length;
            log.write('settle', { action: 'guard', code: detail.code, pendingDeletes: detail.pendingDeletes, burstOnServer: kept, burst: files.burstDeleted.length });
          }
          if (confirms === 0) firstConfirmAt = Date.now();
          const r = await runCliCommand(home, ['pairs', 'confirm', pairId, String(detail.pendingDeletes ?? 0), '--json']);
          log.write('settle', { action: 'confirm', count: detail.pendingDeletes, code: r.code, out: r.out.trim().slice(0, 300), err: r.err.trim().slice(0, 300) });
          confirms++;
          client.lastOutputAt = Date.now();
          continue;
        }
        settled = true;
        waiting = byDesign;
        break;
      }
    }
    log.write('settle', { settled, pairState: client.pairState, detail: client.pairDetail, issues, afterMs: Date.now() - deadline });
    if (!settled) {
      violations.push({
        invariant: 'settles',
        detail: `the client did not settle within ${o.settleTimeoutS} s (pair state ${client.pairState}; paths it says are not on the server:)`,
        paths: issues.map((i) => `${i.relPath}: ${i.code} (${i.message})`),
      });
    }
    const waitingPaths = new Set(waiting.map((w) => w.relPath));

    // ---- conflicts: every version somewhere, then each resolved through the CLI (the running client's socket)
    let resolutions: ResolutionObserved[] = [];
    try {
      const open = await conflicts.list(home);
      const cRemote = (await readRemote(reader, childUri(REMOTE, CONFLICT_FOLDER))).remote;
      const rel = new Map([...cRemote].map(([p, c]) => [`${CONFLICT_FOLDER}/${p}`, c]));
      const cv = checkConflictVersions(conflicts.expectations(waitingPaths), rel, open);
      // two-way: which side sees the conflict first decides where each version is (our save in an upload-side copy on
      // the server, or the server's version in a download-side copy here, then uploaded); "every version is
      // somewhere" checks both at the end, the listing is checked here
      violations.push(...(twoWay ? cv.filter((v) => v.invariant === 'open conflicts are listed') : cv));
      log.write('conflicts', { made: conflicts.expectations().length, listed: open.map((c) => ({ id: c.id, path: c.relPath, copy: c.conflictUri })) });
      resolutions = await conflicts.resolveAll(home, emu, remoteRoot, waitingPaths);
      violations.push(...checkResolutions(resolutions));
      // stale conflicts (two-way: their file moved or went away here): ended with keep-both, off the list
      violations.push(...conflicts.stale.filter((x) => x.listedAfter || (x.keepMineCode !== 0 && x.keepBothCode !== 0)).map((x) => ({ invariant: 'conflicts end as resolved', detail: 'a conflict whose file is gone here could not be ended (keep-mine, then keep-both)', paths: [`${x.rel} (keep-mine ${x.keepMineCode}, keep-both ${x.keepBothCode})`] })));
      violations.push(...checkNoConflictsLeft(await conflicts.list(home)));
    } catch (err) {
      violations.push({ invariant: 'conflicts end as resolved', detail: `the conflict round failed: ${(err as Error)?.message ?? err}`, paths: [] });
    }

    // ---- a quiet round of renames and moves, once everything is on the server: no byte sent, nothing trashed
    let quiet: DriverMove[] = [];
    let quietRan = false;
    let quietStats = { sessions: 0, bytes: 0 };
    const inSync = async (): Promise<string[]> => {
      const { remote } = await readRemote(reader, REMOTE);
      const off: string[] = [];
      for (const [p, rec] of model.files) {
        if (waitingPaths.has(p)) continue;
        if (o.policy === 'onedrive' && rec.size === 0) continue;
        const r = remote.get(p);
        if (!r || r.uploading || r.hash !== rec.hash) off.push(p);
      }
      return off;
    };
    let off: string[] = ['(not looked yet)'];
    for (const t = Date.now(); Date.now() - t < 120_000; ) {
      if (Date.now() - client.lastOutputAt >= 3000 && emu.sessions().length === 0) {
        await resync('before the quiet round');
        off = await inSync();
        if (off.length === 0) break;
      }
      await sleep(2000);
    }
    if (off.length > 0) {
      log.write('quiet-moves', { skipped: true, notInSync: off.slice(0, 50) });
      violations.push({ invariant: 'remote equals local', detail: 'not on the server (as on disk) 2 minutes after the settle and the conflicts', paths: off });
    } else {
      const before = emu.stats();
      const evFrom = fileEvents.length;
      const partFrom = parts.length;
      log.write('quiet-moves', { action: 'start' });
      quiet = await files.quietMoves(waitingPaths);
      // done when every moved path is at its new place on the server and gone from the old one, the client quiet
      const final = new Set(model.files.keys());
      const movedTo = quiet.filter((m) => m.kind === 'file').map((m) => m.to);
      for (const t = Date.now(); Date.now() - t < 90_000; ) {
        await sleep(1000);
        if (Date.now() - client.lastOutputAt < 5000) continue;
        const listed = new Set((await reader.files(REMOTE)).filter((f) => !f.uploading).map((f) => f.path));
        const there = [...final].filter((p) => !waitingPaths.has(p)).every((p) => listed.has(p));
        const gone = quiet.every((m) => m.kind === 'folder' || !listed.has(m.from) || final.has(m.from));
        if (there && gone && movedTo.every((p) => !final.has(p) || listed.has(p))) break;
      }
      await sleep(2000);
      const clean = await client.stop();
      if (!clean) violations.push({ invariant: 'settles', detail: 'the client did not stop within 30 s of SIGTERM', paths: [] });
      const after = emu.stats();
      quietStats = { sessions: after.sessions_created - before.sessions_created, bytes: after.bytes_received - before.bytes_received };
      log.write('quiet-moves', { action: 'end', moves: quiet, ...quietStats });
      violations.push(...checkQuietMoves(quiet, before, after, fileEvents.slice(evFrom), parts.slice(partFrom)));
      quietRan = true;
    }
    const clean = await client.stop();
    if (!clean) violations.push({ invariant: 'settles', detail: 'the client did not stop within 30 s of SIGTERM', paths: [] });
    for (const c of client.crashes) {
      violations.push({ invariant: 'the client never crashes', detail: `it exited by itself (code ${c.code}, signal ${c.signal}) at ${new Date(c.at).toISOString()}`, paths: [] });
    }

    // ---- invariants
    const tr = await runCliCommand(home, ['transfers', '--json']);
    const transfers = tr.code === 0 ? (JSON.parse(tr.out || '[]') as Array<{ id: string; localPath: string; state: string }>) : [];
    if (tr.code !== 0) violations.push({ invariant: 'no stuck transfers', detail: `transfers --json failed (${tr.code}): ${tr.err.trim()}`, paths: [] });
    violations.push(...checkJournal(transfers));
    violations.push(...checkSessions(emu.sessions()));

    const local = await walkLocal(root);
    // two-way: the client changes local files too; since the model took the tree in before the quiet round, nothing
    // but the driver's renames changed on either side, so the client must have touched nothing here since (its own
    // moves on the server are not brought back down)
    if (!twoWay || quietRan) violations.push(...checkLocalUntouched(model, local));

    const { remote, listed: listedCount, bytes: remoteBytes } = await readRemote(reader, REMOTE);
    const deletions = remoteDeletions(fileEvents);
    const twoWayRows: Array<[string, string]> = [];
    if (!twoWay) {
      violations.push(...checkRemoteContent(model, remote, { emptyFilesUpload: o.policy !== 'onedrive', waiting: waitingPaths, origins: remoteOrigins(fileEvents) }));
      violations.push(...checkRemovals(o.mode, model, deletions, { massDeleted: files.burstDeleted, arrivals: remoteArrivals(fileEvents), keepMineCopies: conflicts.keepMineCopies }));
    } else {
      // what the pair says is not synced at the end (the client is stopped: read from its home)
      const endIssues = await listIssues(home).catch(() => issues);
      const notSynced = new Set([...issues, ...endIssues].map((i) => i.relPath));
      const openConflicts = await conflicts.list(home).catch(() => []);
      const held = client.pairState === 'needs-confirmation' ? new Set(files.burstDeleted) : new Set<string>();
      const exempt = (p: string) => notSynced.has(p) || waitingPaths.has(p) || held.has(p) || openConflicts.some((c) => c.relPath === p);
      const localHashes = new Map([...local].map(([p, r]) => [p, r.hash]));
      const emptyLocal = new Set([...local].filter(([, r]) => r.size === 0).map(([p]) => p));
      violations.push(...checkConverged(localHashes, remote, exempt, { emptyFilesUpload: o.policy !== 'onedrive', emptyLocal }));
      const written = model.ledger!.everWritten;
      violations.push(...checkWhole(new Map([...remote].filter(([, r]) => !r.uploading).map(([p, r]) => [p, r.hash])), written, 'on the server'));
      violations.push(...checkWhole(localHashes, written, 'here'));
      // every version somewhere: here, on the server, in its trash, in this computer's trash
      const places = new Map<string, string[]>();
      const at = (h: string, where: string) => {
        const l = places.get(h);
        if (l) l.push(where);
        else places.set(h, [where]);
      };
      for (const [p, h] of localHashes) at(h, `local:${p}`);
      for (const [p, r] of remote) if (!r.uploading) at(r.hash, `server:${p}`);
      const serverTrash = await serverTrashContents(reader, emu);
      for (const [p, h] of serverTrash) at(h, `server-trash:${p}`);
      const localTrash = await localTrashContents(xdgData);
      for (const [p, h] of localTrash.files) at(h, `local-trash:${p}`);
      violations.push(...checkVersionsKept(model.ledger!.required, places));
      // seen here: at rest at some path (the driver's, or taken in from the client), or in this computer's trash
      const seenHere = new Set([...[...model.history.values()].flatMap((h) => [...h]), ...localTrash.files.values()]);
      violations.push(...checkServerTrashSeen(serverTrash, model.ledger!.apiWritten, model.ledger!.apiDeleted, seenHere));
      // the mass delete: nothing of it trashed on the server before the soak confirmed what the guard held back
      const burst = new Set(files.burstDeleted);
      const pastGuard = deletions.filter((d) => d.how === 'deleted' && burst.has(d.path) && d.at < firstConfirmAt).map((d) => d.path);
      if (pastGuard.length) violations.push({ invariant: 'two-way never deletes past the guard', detail: 'trashed on the server as part of the mass delete before it was confirmed', paths: pastGuard });
      // nothing local deleted except through the trash (the last changes taken in now)
      await model.resync();
      violations.push(...checkLocalRemovals(model.vanished, new Set(localTrash.files.values()), model.ledger!.replaced));
      const churnOps = [...churn.ops.entries()].sort();
      const churnFailed = [...churn.failed.entries()].sort();
      twoWayRows.push(
        ['server-side churn (through the API)', `${churnOps.reduce((n, [, k]) => n + k, 0)}: ${churnOps.map(([k, n]) => `${k} ${n}`).join(', ')}${churnFailed.length ? ` (refused or failed: ${churnFailed.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`],
        ['versions written / required at the end (not superseded) / kept', `${model.ledger!.everWritten.size} / ${model.ledger!.required.size} / ${[...model.ledger!.required.keys()].filter((h) => places.has(h)).length}`],
        ['local files the client changed or made / removed (vanished) / in the local trash', `${model.adopted.length} / ${model.vanished.length} / ${localTrash.files.size} (${localTrash.origins.size} entries)`],
        ['files in the server\'s trash', String(serverTrash.size)],
        ['paths exempt from converging (not synced, waiting, held back, open conflicts)', String([...new Set([...local.keys(), ...remote.keys()])].filter(exempt).length)],
      );
    }
    const trashed = (await reader.trash()).map((t) => (t.restorePath.startsWith(remoteRoot + '/') ? t.restorePath.slice(remoteRoot.length + 1) : t.restorePath));
    violations.push(...checkTrashKept(deletions, trashed));
    const maxPart = policy.chunkSize ?? 1024 * 1024;
    // the client's parts in flight per file: the policy's chunk_concurrency (3) under its default cap (4)
    const resend = resendAfterCrashes(parts, crashes, { perSession: Math.min(policy.chunkConcurrency ?? 1, 4), maxPart });
    violations.push(...checkResend(resend));

    // ---- summary
    const st = emu.stats();
    const fileOps = [...files.ops.entries()].sort();
    const conflictOps = [...conflicts.ops.entries()].sort();
    const faults = [...chaos.injected.entries()].sort();
    const resentBytes = resend.reduce((s, r) => s + r.resentBytes, 0);
    const acceptedOnce = new Map<string, number>();
    for (const p of parts) acceptedOnce.set(`${p.session}#${p.index}`, p.bytes);
    // sessions that received some of their parts but never all: given up (the file changed, the session expired or
    // was lost, or the client started over)
    const got = new Map<string, Set<number>>();
    for (const p of parts) got.set(p.session, (got.get(p.session) ?? new Set()).add(p.index));
    const abandoned = parts.filter((p) => got.get(p.session)!.size < p.of);
    const rows: Array<[string, string]> = [
      ['command', replay],
      ['run', `${((Date.now() - started) / 60_000).toFixed(1)} min (${o.minutes} of chaos, then the settle)`],
      ['file operations', `${fileOps.reduce((s, [, n]) => s + n, 0)}: ${fileOps.map(([k, n]) => `${k} ${n}`).join(', ')}`],
      ['conflicts (made on both sides / resolved keep-mine, keep-both / not made by the soak (file gone here))', `${conflicts.expectations().length} / ${resolutions.filter((r) => r.choice === 'keep-mine').length}, ${resolutions.filter((r) => r.choice === 'keep-both').length} / ${conflicts.unexpected.length} (${conflicts.stale.length})${conflictOps.length ? ` (${conflictOps.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`],
      ...twoWayRows,
      ['quiet renames and moves (files carried) / sessions / bytes sent', `${quiet.length} (${quiet.reduce((s2, m) => s2 + m.files, 0)}) / ${quietStats.sessions} / ${fmtBytes(quietStats.bytes)}`],
      ['files waiting for a retry time at the end (locked)', String(waitingPaths.size)],
      ['faults injected', `${faults.reduce((s, [, n]) => s + n, 0)}: ${faults.map(([k, n]) => `${k} ${n}`).join(', ')}`],
      ['client kill -9 / restarts', `${crashes.length} / ${client.starts - 1}`],
      ['client crashes (exited by itself)', String(client.crashes.length)],
      ['uploads finished / failed (as reported)', `${client.uploadsDone} / ${client.uploadsFailed}`],
      ['files on disk / on the server', `${local.size} / ${listedCount}`],
      ['bytes written by the driver', fmtBytes(files.bytesWritten)],
      ['bytes on the server (downloaded, plaintext)', fmtBytes(remoteBytes)],
      ['bytes the server received (part bodies)', fmtBytes(st.bytes_received)],
      ['bytes of parts accepted (distinct session+part)', fmtBytes([...acceptedOnce.values()].reduce((s, n) => s + n, 0))],
      ['bytes in sessions given up (sessions)', `${fmtBytes(abandoned.reduce((s, p) => s + p.bytes, 0))} (${new Set(abandoned.map((p) => p.session)).size})`],
      ['bytes re-sent after kill -9 (allowed)', `${fmtBytes(resentBytes)} (${fmtBytes(resend.reduce((s, r) => s + r.allowedBytes, 0))})`],
      ['upload sessions created / completed / cancelled', `${st.sessions_created} / ${st.sessions_completed} / ${st.sessions_cancelled}`],
      ['invariants', violations.length === 0 ? 'all hold' : `${violations.length} violated`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    const table = ['| what | measured |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
    process.stdout.write(`\n${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`);
    writeFileSync(join(out, 'summary.md'), table + '\n');
    writeFileSync(join(out, 'summary.json'), JSON.stringify({ seed: o.seed, options: o, rows: Object.fromEntries(rows), resend, violations }, null, 2));
    log.write('end', { violations: violations.length });

    if (violations.length) {
      process.stdout.write(`\nSOAK FAILED — seed ${o.seed}\nreplay: ${replay}\n`);
      for (const v of violations) {
        process.stdout.write(`\n✗ ${v.invariant}: ${v.detail}\n`);
        for (const p of v.paths.slice(0, 20)) process.stdout.write(`    ${p}\n`);
        if (v.paths.length > 20) process.stdout.write(`    … and ${v.paths.length - 20} more\n`);
      }
      process.stdout.write(`\nlast events (${join(out, 'events.jsonl')}):\n${log.tail(40).join('\n')}\n`);
      process.stdout.write(`kept for inspection: ${out}\n`);
      return 1;
    }
    process.stdout.write(`\nsoak passed (seed ${o.seed})${o.keep || o.out ? `; files kept in ${out}` : ''}\n`);
    if (!o.keep && !o.out) rmSync(out, { recursive: true, force: true });
    return 0;
  } catch (err) {
    log.write('error', { message: String((err as Error)?.stack ?? err) });
    process.stdout.write(`\nSOAK ERROR — seed ${o.seed}: ${(err as Error)?.message ?? err}\nlast events:\n${log.tail(40).join('\n')}\nkept: ${out}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
    await emu.close();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  let opts: SoakOptions;
  try {
    opts = parseSoakArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${SOAK_USAGE}\n`);
    process.exit(2);
  }
  soak(opts).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`soak: ${(err as Error)?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
