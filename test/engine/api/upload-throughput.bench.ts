/**
 * A/B throughput of chunk bodies: raw node:http vs got vs CloudreveClient.uploadChunk, interleaved,
 * 1 GiB per run in 25 MiB chunks (2 in flight), to a loopback sink in the same process.
 *
 * Measure on plain node, not under tsx (tsx roughly doubles CPU per GiB here, for all three):
 *   npx esbuild test/engine/api/upload-throughput.bench.ts --bundle --platform=node --format=esm \
 *     --external:got --outfile=/tmp/ab.mjs && cp /tmp/ab.mjs ./.ab.mjs && node ./.ab.mjs; rm ./.ab.mjs
 * (the bundle must sit inside the repo so that `got` resolves). BENCH_FILE=<path> to use a real file.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import got from 'got';
import { CloudreveClient } from '../../../main/engine/api/client.js';
const SIZE = 1 << 30;
const FILE = process.env.BENCH_FILE ?? path.join(os.tmpdir(), 'cr-bench-1g.bin');
if (!fs.existsSync(FILE) || fs.statSync(FILE).size < SIZE) {
  const fd = fs.openSync(FILE, 'w');
  const block = Buffer.alloc(16 << 20);
  for (let o = 0; o < SIZE; o += block.length) {
    for (let i = 0; i < block.length; i += 4096) block[i] = (o + i) & 0xff;
    fs.writeSync(fd, block);
  }
  fs.closeSync(fd);
}
const CH = 25 << 20; const CONC = 2; const REPS = Number(process.env.REPS ?? 5);
const sink = http.createServer((req, res) => { req.on('data', () => {}); req.on('end', () => res.end('{"code":0,"msg":""}')); });
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
const base = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const g = got.extend({ retry: { limit: 0 }, throwHttpErrors: false, agent: { http: agent } });
const tp = { access_token: 'a', refresh_token: 'r', access_expires: new Date(Date.now() + 3600e3).toISOString(), refresh_expires: new Date(Date.now() + 86400e3).toISOString() };
const client = new CloudreveClient({ baseUrl: base, clientId: 'x', tokens: tp, version: '4.18.0' });
const rs = (s: number, e: number) => fs.createReadStream(FILE, { start: s, end: e - 1, highWaterMark: 1 << 20 });
const ways: Record<string, (i: number, s: number, e: number) => Promise<unknown>> = {
  'node:http': (i, s, e) => new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/v4/file/upload/x/${i}`, { method: 'POST', agent, headers: { 'content-length': String(e - s), 'content-type': 'application/octet-stream' } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject); rs(s, e).pipe(req);
  }),
  'got': (i, s, e) => g.post(`${base}/api/v4/file/upload/x/${i}`, { body: rs(s, e), headers: { 'content-length': String(e - s), 'content-type': 'application/octet-stream' } }).text(),
  'client.uploadChunk': (i, s, e) => client.uploadChunk('x', i, rs(s, e), e - s, { onProgress: () => {} }),
};
const res: Record<string, { wall: number[]; cpu: number[] }> = {};
for (let rep = 0; rep < REPS; rep++) for (const [name, one] of Object.entries(ways)) {
  const n = Math.ceil(SIZE / CH); let next = 0;
  const c0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async () => { while (next < n) { const i = next++; await one(i, i * CH, Math.min(SIZE, (i + 1) * CH)); } }));
  const wall = (performance.now() - t0) / 1000; const cpu = process.cpuUsage(c0);
  (res[name] ??= { wall: [], cpu: [] }).wall.push(wall); res[name].cpu.push((cpu.user + cpu.system) / 1e6);
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [name, r] of Object.entries(res)) console.log(`${name.padEnd(20)} median ${(SIZE / med(r.wall) / 2 ** 30).toFixed(2)} GiB/s (best ${(SIZE / Math.min(...r.wall) / 2 ** 30).toFixed(2)}), CPU ${med(r.cpu).toFixed(2)} s/GiB (sink in same process)`);
sink.close(); agent.destroy(); client.close();
