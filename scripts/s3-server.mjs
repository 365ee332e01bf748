#!/usr/bin/env node
// A real S3 server on loopback for tests, the emulator and the bench: Debian's OpenStack Swift with its s3api
// middleware (real SigV4 verification, InvalidPart, EntityTooSmall), single node, one replica, under --data DIR.
//
//   npm run s3-server -- --data DIR [--port N] [--min-part BYTES] [--no-install]
//
// Installs the Debian packages when missing (as root, apt-get), starts memcached and the four Swift servers on free
// loopback ports, waits for the health check, prints one JSON line {endpoint, accessKey, secretKey, region} and serves
// until SIGTERM/SIGINT, then stops what it started. --min-part sets s3api's min_segment_size (default 5 MiB, as S3),
// so that tests can use small parts and still see EntityTooSmall below it.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const PACKAGES = ['swift-proxy', 'swift-object', 'swift-container', 'swift-account', 'memcached'];
const USAGE = 'usage: s3-server --data DIR [--port N] [--min-part BYTES] [--no-install]';

function fail(msg) {
  process.stderr.write(`s3-server: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { data: '', port: 0, minPart: 5 * 1024 * 1024, install: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = argv[++i];
      if (!/^\d+$/.test(v ?? '')) fail(`${a} needs a non-negative integer`);
      return parseInt(v, 10);
    };
    if (a === '--data') o.data = argv[++i] ?? fail('--data needs a directory');
    else if (a === '--port') o.port = num();
    else if (a === '--min-part') o.minPart = Math.max(1, num());
    else if (a === '--no-install') o.install = false;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else fail(`unknown argument: ${a}`);
  }
  if (!o.data) fail('--data DIR is required');
  return o;
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureInstalled(install) {
  if (have('swift-proxy-server') && have('memcached')) return;
  if (!install) fail('Swift is not installed (apt-get install swift-proxy swift-object swift-container swift-account memcached)');
  if (process.getuid?.() !== 0) fail('Swift is not installed and installing it needs root (apt-get)');
  process.stderr.write('s3-server: installing Swift (apt-get)…\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (r.status !== 0) fail('apt-get update failed');
  r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (r.status !== 0) fail('apt-get install failed');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const SWIFT_CONF = '[swift-hash]\nswift_hash_path_suffix = t\nswift_hash_path_prefix = t\n[storage-policy:0]\nname = gold\ndefault = yes\n';

function writeConfigs(dir, ports, minPart) {
  const etc = path.join(dir, 'etc');
  fs.mkdirSync(path.join(dir, 'node', 'd1'), { recursive: true });
  fs.mkdirSync(etc, { recursive: true });
  // Swift reads this fixed path; only written when absent or different.
  fs.mkdirSync('/etc/swift', { recursive: true });
  const cur = fs.existsSync('/etc/swift/swift.conf') ? fs.readFileSync('/etc/swift/swift.conf', 'utf8') : '';
  if (!cur.includes('[swift-hash]')) fs.writeFileSync('/etc/swift/swift.conf', SWIFT_CONF);
  const common = (p) =>
    `[DEFAULT]\nswift_dir = ${etc}\ndevices = ${path.join(dir, 'node')}\nmount_check = false\nbind_ip = 127.0.0.1\nbind_port = ${p}\nworkers = 1\nuser = root\nlog_level = WARNING\nlog_address = /nonexistent\n`;
  for (const n of ['object', 'container', 'account']) {
    const builder = path.join(etc, `${n}.builder`);
    for (const f of [builder, path.join(etc, `${n}.ring.gz`)]) fs.rmSync(f, { force: true });
    const rb = (...args) => {
      const r = spawnSync('swift-ring-builder', [builder, ...args], { encoding: 'utf8' });
      // rebalance exits 1 with a warning on a one-device ring; only 2 is an error
      if (r.status === 2 || r.error) fail(`swift-ring-builder ${args[0]} failed: ${r.stderr || r.error}`);
    };
    rb('create', '8', '1', '1');
    rb('add', `r1z1-127.0.0.1:${ports[n]}/d1`, '100');
    rb('rebalance');
    fs.writeFileSync(path.join(dir, `${n}-server.conf`), `${common(ports[n])}[pipeline:main]\npipeline = ${n}-server\n[app:${n}-server]\nuse = egg:swift#${n}\n`);
  }
  fs.writeFileSync(
    path.join(dir, 'proxy-server.conf'),
    `${common(ports.proxy)}
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck cache listing_formats s3api tempauth copy slo dlo proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${ports.memcached}
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
min_segment_size = ${minPart}
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
`,
  );
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  ensureInstalled(o.install);
  const dir = path.resolve(o.data);
  fs.mkdirSync(dir, { recursive: true });
  const ports = {
    proxy: o.port || (await freePort()),
    object: await freePort(),
    container: await freePort(),
    account: await freePort(),
    memcached: await freePort(),
  };
  writeConfigs(dir, ports, o.minPart);
  const children = [];
  const start = (cmd, args, log) => {
    const out = fs.openSync(path.join(dir, log), 'a');
    const c = spawn(cmd, args, { stdio: ['ignore', out, out], detached: false });
    children.push(c);
    return c;
  };
  let stopping = false;
  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    setTimeout(() => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      process.exit(code);
    }, 1500).unref();
    Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  // a parent that died without stopping us (a killed test run) must not leave Swift running
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop(0);
  }, 1000).unref();
  start('memcached', ['-u', 'root', '-l', '127.0.0.1', '-p', String(ports.memcached), '-m', '64'], 'memcached.log');
  for (const n of ['account', 'container', 'object', 'proxy']) {
    const c = start(`swift-${n}-server`, [path.join(dir, `${n}-server.conf`)], `${n}.log`);
    c.once('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`s3-server: swift-${n}-server exited (${code}); see ${path.join(dir, `${n}.log`)}\n`);
        stop(1);
      }
    });
  }
  const endpoint = `http://127.0.0.1:${ports.proxy}`;
  const deadline = Date.now() + 150_000;
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/healthcheck`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      process.stderr.write('s3-server: Swift did not become healthy within 150 s\n');
      return stop(1);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(JSON.stringify({ endpoint, accessKey: 'test:tester', secretKey: 'testing', region: 'us-east-1' }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`s3-server failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
