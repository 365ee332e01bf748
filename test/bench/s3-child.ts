/**
 * One measured S3 client run in its own process (bundled by s3.ts). Prints one JSON line { ms, cpuMs, maxRssMB }.
 *   ours       <home> <server> <email> <password> <target folder> <file>   the engine, via the emulator's S3 policy
 *   bare       <job.json> <file>   node:http PUTs of the pre-signed parts (the ceiling), then the complete POST
 *   lib-storage <endpoint> <accessKey> <secretKey> <bucket> <key> <file> <partSize> <queue>
 */
import { Agent, request } from 'node:http';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createEngine } from '../../main/engine/index.js';

interface BareJob {
  urls: string[];
  completeURL: string;
  partSize: number;
  concurrency: number;
}

function put(agent: Agent, url: string, file: string, start: number, end: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', agent, headers: { 'content-length': end - start, 'content-type': 'application/octet-stream' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(String(res.headers.etag)) : reject(new Error(`part: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(file, { start, end: end - 1, highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

async function bare(job: BareJob, file: string): Promise<void> {
  const size = statSync(file).size;
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const etags: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.urls.length) {
        const i = next++;
        etags[i] = await put(agent, job.urls[i], file, i * job.partSize, Math.min(size, (i + 1) * job.partSize));
      }
    }),
  );
  // the baseline builds its XML by hand: it is the ceiling, not a client to imitate
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const r = await fetch(job.completeURL, { method: 'POST', body: xml, headers: { 'content-type': 'application/octet-stream' } });
  const text = await r.text();
  if (r.status !== 200 || text.includes('<Error>')) throw new Error(`complete: HTTP ${r.status} ${text.slice(0, 200)}`);
  agent.destroy();
}

async function libStorage(args: string[]): Promise<void> {
  const [endpoint, accessKeyId, secretAccessKey, bucket, key, file, partSize, queue] = args;
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED' });
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) }, partSize: Number(partSize), queueSize: Number(queue) }).done();
  client.destroy();
}

const [mode, ...rest] = process.argv.slice(2);
let cpu0 = process.cpuUsage();
let t0 = performance.now();
if (mode === 'ours') {
  const [home, server, email, password, target, file] = rest;
  const engine = await createEngine({ home, autoResume: false });
  if (!engine.account()) await engine.login(server, email, password);
  // timed from here: the peers are not timed logging in either
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  const [id] = await engine.enqueue([file], target);
  await engine.idle();
  const t = engine.transfer(id);
  await engine.close();
  if (t?.state !== 'done') throw new Error(`upload ${t?.state}: ${t?.error?.message}`);
} else if (mode === 'bare') {
  await bare(JSON.parse(readFileSync(rest[0], 'utf8')) as BareJob, rest[1]);
} else if (mode === 'lib-storage') {
  await libStorage(rest);
} else {
  throw new Error(`unknown mode ${mode}`);
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
