/**
 * S3 and KS3 against a real S3 implementation that verifies signatures: OpenStack Swift with s3api, started by
 * scripts/s3-server.mjs. The conformance suite's sizes (plaintext and encrypted) go through the emulator's
 * SigV4 pre-signed URLs; a tampered URL, a wrong ETag, a too-small part and an expired URL fail as real S3 fails,
 * and become the typed errors the engine acts on.
 * Without Swift the file skips with a message; with CLOUDREVE_REQUIRE_SWIFT=1 (CI) that is a failure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { CloudreveClient } from '../../../main/engine/api/client.js';
import type { UploadSession } from '../../../main/engine/api/types.js';
import { s3LikeAdapter } from '../../../main/engine/adapters/s3-like.js';
import { EngineError, classify } from '../../../main/engine/errors.js';
import { startEmulator, type EmulatorPolicy, type EmulatorS3Server } from '../../emulator/index.js';
import { tmpDir, type TmpDir } from '../../helpers/tmp-tree.js';
import { CLIENT_ID } from '../api/helpers.js';
import { conformance } from './conformance.js';

const P = 64 * 1024;
const haveSwift = spawnSync('sh', ['-c', 'command -v swift-proxy-server && command -v memcached'], { stdio: 'ignore' }).status === 0;
const required = process.env.CLOUDREVE_REQUIRE_SWIFT === '1';
const skip = haveSwift ? false : 'Swift is not installed (apt-get install swift-proxy swift-object swift-container swift-account memcached): S3/KS3 tests skipped';
if (!haveSwift && required) {
  test('Swift is installed (CLOUDREVE_REQUIRE_SWIFT=1)', () => assert.fail('CLOUDREVE_REQUIRE_SWIFT=1 but swift-proxy-server/memcached are not on PATH'));
}

const server: EmulatorS3Server = { endpoint: '', accessKey: '', secretKey: '', bucket: 'conformance' };
let swift: ChildProcess | null = null;
let swiftDir: TmpDir | null = null;

/** Starts scripts/s3-server.mjs (bounded wait) and fills `server`. */
async function startSwift(): Promise<void> {
  swiftDir = tmpDir('crs-swift-');
  swift = spawn(process.execPath, ['scripts/s3-server.mjs', '--data', swiftDir.path, '--min-part', String(P), '--no-install'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  swift.stderr!.on('data', (d) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3-server did not start within 200 s: ${err}`)), 200_000);
    createInterface({ input: swift!.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    swift!.once('exit', (code) => reject(new Error(`s3-server exited (${code}): ${err}`)));
  });
  const j = JSON.parse(line) as { endpoint: string; accessKey: string; secretKey: string; region: string };
  Object.assign(server, { endpoint: j.endpoint, accessKey: j.accessKey, secretKey: j.secretKey, region: j.region });
}

describe('S3 and KS3 on Swift', { skip }, () => {
  const policies: EmulatorPolicy[] = [
    { type: 's3', s3: server },
    { type: 'ks3', s3: { ...server, bucket: 'conformance-ks3' } },
  ];
  before(async () => {
    await startSwift();
    // the KS3 policy's copy of the connection details
    policies[1].s3 = { ...server, bucket: 'conformance-ks3' };
  });
  after(async () => {
    if (swift && swift.exitCode === null) {
      swift.kill('SIGTERM');
      await new Promise((r) => swift!.once('exit', r));
    }
    swiftDir?.cleanup();
  });

  // KS3 differs from S3 in nothing a host-signed URL carries: its encrypted run would repeat S3's
  for (const policy of policies) {
    conformance({ name: `${policy.type} on Swift`, policy, part: P, parallel: true, emptyFiles: true, killResume: true, encrypted: policy.type === 's3', faults: null });
  }

  describe('failures as real S3 answers them', () => {
    const adapter = () => s3LikeAdapter('s3')({ client: null as unknown as CloudreveClient });
    let emu: Awaited<ReturnType<typeof startEmulator>>;
    let client: CloudreveClient;
    const ac = new AbortController();
    before(async () => {
      emu = await startEmulator({ policy: { type: 's3', s3: { ...server, bucket: 'failures' }, chunkSize: P }, sessionTtl: 3600 });
      client = new CloudreveClient({ baseUrl: emu.url, clientId: CLIENT_ID });
      await client.login(emu.email, emu.password);
    });
    after(async () => {
      client.close();
      await emu.close();
    });
    const session = (name: string, size: number) => client.createUploadSession({ uri: `cloudreve://my/f/${name}`, size });
    const part = (index: number, length: number) => ({ index, start: index * P, end: index * P + length, length });
    const send = (s: UploadSession, index: number, length: number, url?: string) =>
      adapter().uploadPart({
        session: url ? { ...s, upload_urls: s.upload_urls!.map((u, i) => (i === index ? url : u)) } : s,
        part: part(index, length),
        size: 2 * P,
        body: Readable.from([Buffer.alloc(length, 7)]),
        signal: ac.signal,
      });
    const rejectsWith = async (p: Promise<unknown>, code: string, text: RegExp) => {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof EngineError, String(e));
        assert.equal(e.code, code, e.message);
        assert.match(e.message, text);
        assert.doesNotMatch(e.message, /X-Amz-Signature=[0-9a-f]/, 'no signature in the message');
        return true;
      });
    };

    test('a tampered pre-signed URL: SignatureDoesNotMatch → session-expired (a new session)', async () => {
      const s = await session('tampered.bin', 2 * P);
      const u = new URL(s.upload_urls![0]);
      const sig = u.searchParams.get('X-Amz-Signature')!;
      u.searchParams.set('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
      await rejectsWith(send(s, 0, P, u.toString()), 'session-expired', /SignatureDoesNotMatch/);
    });

    test('a wrong ETag at completion: InvalidPart → storage-protocol (fails the file)', async () => {
      const s = await session('etag.bin', 2 * P);
      const a = await send(s, 0, P);
      const b = await send(s, 1, P);
      assert.match(a.etag!, /^"[0-9a-f]{32}"$/, 'ETag kept verbatim, quoted');
      const err = adapter().complete(s, [a, { ...b, etag: '"00000000000000000000000000000000"' }], ac.signal);
      await rejectsWith(err, 'storage-protocol', /InvalidPart/);
      assert.equal(classify(await err.catch((e: unknown) => e)), 'fail-file');
    });

    test('a non-last part below the minimum: EntityTooSmall → storage-protocol', async () => {
      const s = await session('small.bin', 2 * P);
      const a = await send(s, 0, 1000);
      const b = await send(s, 1, P);
      await rejectsWith(adapter().complete(s, [a, b], ac.signal), 'storage-protocol', /EntityTooSmall/);
    });

    test('an expired pre-signed URL: AccessDenied "expired" → session-expired', async () => {
      const short = await startEmulator({ policy: { type: 's3', s3: { ...server, bucket: 'failures' }, chunkSize: P }, sessionTtl: 1 });
      try {
        const c = new CloudreveClient({ baseUrl: short.url, clientId: CLIENT_ID });
        await c.login(short.email, short.password);
        const s = await c.createUploadSession({ uri: 'cloudreve://my/f/expired.bin', size: 2 * P });
        c.close();
        await new Promise((r) => setTimeout(r, 2500));
        await rejectsWith(send(s, 0, P), 'session-expired', /expired/i);
      } finally {
        await short.close();
      }
    });
  });
});
