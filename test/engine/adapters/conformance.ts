/**
 * The conformance suite every storage adapter runs (issue 6): sizes 0 (where the provider allows it), 1, part−1, part,
 * part+1 and a large odd size, plaintext and encrypted; parallel parts where allowed; a failing part retried; an
 * expired URL/session replaced; kill -9 mid-upload and resume from another process. Every case ends with the stored
 * object byte-for-byte equal to the file, or, encrypted, to its AES-256-CTR ciphertext under the session key.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { join } from 'node:path';
import { startEmulator, type Emulator, type EmulatorPolicy, type FaultRule } from '../../emulator/index.js';
import { createEngine, type Engine } from '../../../main/engine/index.js';
import { openJournal } from '../../../main/engine/journal/journal.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';

export interface ConformanceTarget {
  name: string;
  policy: EmulatorPolicy;
  /** the policy's part size (small, for speed) */
  part: number;
  parallel: boolean;
  /** false: size 0 must fail clearly before any byte (OneDrive) */
  emptyFiles: boolean;
  /** run the kill -9 / resume case (slow: two CLI processes); once per resume mechanism is enough */
  killResume: boolean;
  /** also run the sizes encrypted (default true) */
  encrypted?: boolean;
  /** fault injection on the emulator's vendor endpoints (null when the storage is a real server) */
  faults: null | {
    /** RegExp source of the part upload path */
    partPath: string;
    partMethod: string;
    /** what the provider answers for an expired URL / session */
    expired: FaultRule['action'];
  };
}

const FAST_RETRY = { baseMs: 20, maxMs: 200, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 8 };
const CLI = ['--import', 'tsx', 'main/cli.ts'];

export function ctr(data: Buffer, keyB64: string, ivB64: string): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.from(keyB64, 'base64'), Buffer.from(ivB64, 'base64'));
  return Buffer.concat([c.update(data), c.final()]);
}

/** What the storage must hold for `data` uploaded to `uri`: the bytes, or their encryption under the entity's key. */
export function expectStored(emu: Emulator, uri: string, data: Buffer): void {
  const blob = emu.blob(uri);
  assert.ok(blob, `${uri}: stored`);
  assert.equal(blob.length, data.length, `${uri}: stored size`);
  const e = emu.entity(uri)!;
  const want = e.encrypted ? ctr(data, e.key!, e.iv!) : data;
  assert.ok(blob.equals(want), `${uri}: stored bytes are ${e.encrypted ? 'the ciphertext of ' : ''}the file`);
}

function cli(home: string, args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...CLI, '--home', home, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

function ackedParts(home: string): number {
  try {
    const j = openJournal(join(home, 'journal.db'));
    try {
      const row = j.uploads.list()[0];
      return row ? j.uploads.parts(row.id).length : 0;
    } finally {
      j.close();
    }
  } catch {
    return 0; // not created yet, or locked for a moment
  }
}

export function conformance(target: ConformanceTarget): void {
  const P = target.part;
  const sizes = [0, 1, P - 1, P, P + 1, 5 * P + 12_345];

  for (const encryption of target.encrypted === false ? [false] : [false, true]) {
    describe(`${target.name} ${encryption ? 'encrypted' : 'plaintext'}`, () => {
      let emu: Emulator;
      let dir: TmpDir;
      let engine: Engine;
      before(async () => {
        emu = await startEmulator({ policy: { ...target.policy, chunkSize: P, chunkConcurrency: target.parallel ? 4 : undefined, encryption } });
        dir = tmpDir();
        engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, settleMs: 200 });
        await engine.login(emu.url, emu.email, emu.password);
      });
      after(async () => {
        await engine.close();
        await emu.close();
        dir.cleanup();
      });

      const upload = async (path: string, to: string) => {
        const [id] = await engine.enqueue([path], to);
        await engine.idle();
        return engine.transfer(id)!;
      };

      for (const size of sizes) {
        test(`size ${size}`, async () => {
          const f = dir.random(`s/${size}.bin`, size);
          const before = emu.stats().sessions_created;
          const t = await upload(f.path, 'cloudreve://my/sizes');
          if (size === 0 && !target.emptyFiles) {
            assert.equal(t.state, 'failed');
            assert.equal(t.error?.code, 'unsupported-feature');
            assert.match(t.error?.message ?? '', /empty/);
            assert.equal(emu.stats().sessions_created, before, 'no session was made');
            return;
          }
          assert.equal(t.state, 'done', JSON.stringify(t.error));
          expectStored(emu, `cloudreve://my/sizes/${size}.bin`, f.data);
        });
      }

      if (encryption) return;
      const faults = target.faults;

      if (faults && target.parallel) {
        test('parts go out in parallel', async () => {
          // Each of the first 4 parts is held 2 s by the server. In parallel, all 4 have arrived while the first is still
          // held; one by one, the 4th would arrive ≥ 6 s after the first. (The fault's counter drops as each arrives.)
          const HOLD = 2000;
          emu.addFault({ method: faults.partMethod, path: faults.partPath, times: 4, action: { type: 'delay', ms: HOLD } });
          const f = dir.random('par/f.bin', 4 * P + 1);
          let firstAt = 0;
          let allAt = 0;
          const run = upload(f.path, 'cloudreve://my/par');
          let finished = false;
          void run.then(() => (finished = true));
          for (let i = 0; i < 600 && !finished && !allAt; i++) {
            const left = ((await (await fetch(`${emu.url}/__emulator/faults`)).json()) as Array<{ times?: number }>)[0]?.times ?? 0;
            if (left < 4 && !firstAt) firstAt = Date.now();
            if (left === 0) allAt = Date.now();
            await new Promise((r) => setTimeout(r, 25));
          }
          const t = await run;
          emu.clearFaults();
          assert.equal(t.state, 'done', JSON.stringify(t.error));
          expectStored(emu, 'cloudreve://my/par/f.bin', f.data);
          assert.ok(firstAt && allAt, 'all four held parts arrived');
          assert.ok(allAt - firstAt < HOLD, `the 4th part arrived ${allAt - firstAt} ms after the 1st, which was held ${HOLD} ms: not in parallel`);
        });
      }

      if (faults) {
        test('a failing part is retried', async () => {
          emu.addFault({ method: faults.partMethod, path: faults.partPath, times: 1, action: { type: 'status', status: 503, body: '' } });
          emu.addFault({ method: faults.partMethod, path: faults.partPath, times: 1, action: { type: 'reset', afterBytes: 1000 } });
          const f = dir.random('retry/f.bin', 3 * P + 7);
          const t = await upload(f.path, 'cloudreve://my/retry');
          const left = (await (await fetch(`${emu.url}/__emulator/faults`)).json()) as unknown[];
          emu.clearFaults();
          assert.equal(t.state, 'done', JSON.stringify(t.error));
          assert.equal(left.length, 0, 'both failures happened');
          expectStored(emu, 'cloudreve://my/retry/f.bin', f.data);
        });

        if (['s3', 'ks3', 'cos'].includes(target.policy.type)) {
          test('a lost callback after the object was completed keeps the session (no re-upload)', async () => {
            // the storage completes the object; the GET callback to Cloudreve fails once; the retry's complete then gets
            // NoSuchUpload, and the client asks Cloudreve to commit what the storage already holds
            emu.addFault({ method: 'GET', path: `^/api/v4/callback/${target.policy.type}/`, times: 1, action: { type: 'status', status: 502, body: '' } });
            const before = emu.stats().sessions_created;
            const f = dir.random('cb/f.bin', 2 * P + 5);
            const t = await upload(f.path, 'cloudreve://my/cb');
            const left = (await (await fetch(`${emu.url}/__emulator/faults`)).json()) as unknown[];
            emu.clearFaults();
            assert.equal(t.state, 'done', JSON.stringify(t.error));
            assert.equal(left.length, 0, 'the callback failed once');
            assert.equal(emu.stats().sessions_created - before, 1, 'one session: nothing was sent twice');
            expectStored(emu, 'cloudreve://my/cb/f.bin', f.data);
          });
        }

        test('an expired URL/session is replaced by a new session', async () => {
          emu.addFault({ method: faults.partMethod, path: faults.partPath, times: 1, action: faults.expired });
          const before = emu.stats().sessions_created;
          const f = dir.random('exp/f.bin', 2 * P + 3);
          const t = await upload(f.path, 'cloudreve://my/exp');
          emu.clearFaults();
          assert.equal(t.state, 'done', JSON.stringify(t.error));
          assert.equal(emu.stats().sessions_created - before, 2, 'a second session was made');
          expectStored(emu, 'cloudreve://my/exp/f.bin', f.data);
        });
      }
    });
  }

  if (!target.killResume) return;
  test(`${target.name}: kill -9 mid-upload, resume from another process`, async () => {
    const emu = await startEmulator({ policy: { ...target.policy, chunkSize: P, chunkConcurrency: target.parallel ? 2 : undefined } });
    const dir = tmpDir();
    const home = join(dir.path, 'home');
    try {
      // logged in from here (one CLI start-up less): the home then holds the credentials the CLI uses
      const first = await createEngine({ home, settleMs: 200 });
      await first.login(emu.url, emu.email, emu.password);
      await first.close();
      const f = dir.random('big.bin', 10 * P - 777);
      const rate = Math.max(256 * 1024, Math.ceil(f.data.length / 4));
      const child = spawn(process.execPath, [...CLI, '--home', home, 'upload', f.path, '--to', 'cloudreve://my/k', '--limit-rate', `${Math.ceil(rate / 1024)}K`, '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.resume();
      child.stderr.resume();
      // bounded wait: two parts acknowledged (or, for a one-request provider, a quarter of the bytes received)
      for (let i = 0; i < 300; i++) {
        if (ackedParts(home) >= 2 || (!target.policy.s3 && emu.stats().bytes_received > f.data.length / 4)) break;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const acked = ackedParts(home);
      const resumed = await cli(home, ['resume']);
      assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
      expectStored(emu, 'cloudreve://my/k/big.bin', f.data);
      // where the provider keeps parts, the resume continued the same session with what it had acknowledged
      if (acked > 0) assert.equal(emu.stats().sessions_created, 1, 'the resume reused the session of the killed process');
    } finally {
      await emu.close();
      dir.cleanup();
    }
  });
}
