/**
 * config.json that cannot be used as it is (issue 16 §9 "Damaged state"): never silently replaced. A syntax error
 * moves the file aside, byte for byte, names the line and column, and keeps the client id; values that break the
 * rules are dropped one by one (a copy of the file kept), the other settings stay. The CLI, run as a process, says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonErrorLocation, openConfig, repairSettingsFile } from '../../main/engine/config.js';
import { setNoticeSink } from '../../main/engine/notices.js';
import { DEFAULT_SETTINGS, readSettings } from '../../main/engine/settings-schema.js';
import { tmpDir, type TmpDir } from '../helpers/tmp-tree.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENT_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

let dir: TmpDir;
let seq = 0;
const notices: string[] = [];
let restoreSink: ReturnType<typeof setNoticeSink>;
before(() => {
  dir = tmpDir('crs-config-repair-');
  restoreSink = setNoticeSink((m) => void notices.push(m));
});
after(() => {
  setNoticeSink(restoreSink);
  dir.cleanup();
});

function home(configText?: string): string {
  const h = join(dir.path, `home${++seq}`);
  mkdirSync(h, { recursive: true });
  if (configText !== undefined) writeFileSync(join(h, 'config.json'), configText);
  return h;
}

// a hand edit that forgot a comma after the bandwidth limit (line 3)
const BROKEN = `{\n\t"clientId": "${CLIENT_ID}",\n\t"bandwidthLimit": 1048576\n\t"maxActiveFiles": 5\n}\n`;

test('jsonErrorLocation: line and column of a JSON.parse error', () => {
  let message = '';
  try {
    JSON.parse(BROKEN);
  } catch (err) {
    message = (err as Error).message;
  }
  assert.deepEqual(jsonErrorLocation(BROKEN, message), { line: 4, column: 2 });
  assert.deepEqual(jsonErrorLocation('{"a":', 'Unexpected end of JSON input'), { line: 1, column: 6 });
});

test('a syntax error: the file is kept beside a new one, the user told the line, the client id kept', () => {
  const h = home(BROKEN);
  notices.length = 0;
  const conf = openConfig(h);
  assert.equal(conf.get('clientId'), CLIENT_ID, 'the installation keeps its identity');
  assert.equal(conf.get('bandwidthLimit'), DEFAULT_SETTINGS.bandwidthLimit);
  const kept = readdirSync(h).filter((n) => /^config\.broken-\d{8}-\d{6}Z\.json$/.test(n));
  assert.equal(kept.length, 1);
  assert.equal(readFileSync(join(h, kept[0]), 'utf8'), BROKEN, 'kept byte for byte');
  assert.equal(notices.length, 1);
  assert.ok(notices[0].includes(join(h, 'config.json')), notices[0]);
  assert.match(notices[0], /line 4, column 2/);
  assert.ok(notices[0].includes(kept[0]), notices[0]);
  assert.match(notices[0], /client id kept/);
  // once repaired, nothing more is said
  openConfig(h);
  assert.equal(notices.length, 1);
  assert.equal(readSettings(h)?.clientId, CLIENT_ID);
});

test('not an object, and no client id to keep: a fresh file and a new id', () => {
  const h = home('[1, 2, 3]');
  notices.length = 0;
  const conf = openConfig(h);
  assert.match(conf.get('clientId'), /^[0-9a-f-]{36}$/);
  assert.match(notices[0], /does not hold a JSON object/);
  assert.equal(readdirSync(h).filter((n) => n.startsWith('config.broken-')).length, 1);
});

test('values that break the rules: only those fall back, the rest is kept, and a copy of the file', () => {
  const text = JSON.stringify({ clientId: CLIENT_ID, bandwidthLimit: '10M', maxActiveFiles: 5, ifExists: 'replace', theme: 'dark' });
  const h = home(text);
  notices.length = 0;
  const conf = openConfig(h);
  assert.equal(conf.get('clientId'), CLIENT_ID);
  assert.equal(conf.get('maxActiveFiles'), 5);
  assert.equal(conf.get('theme'), 'dark');
  assert.equal(conf.get('bandwidthLimit'), DEFAULT_SETTINGS.bandwidthLimit);
  assert.equal(conf.get('ifExists'), DEFAULT_SETTINGS.ifExists);
  const kept = readdirSync(h).filter((n) => n.startsWith('config.invalid-'));
  assert.equal(kept.length, 1);
  assert.equal(readFileSync(join(h, kept[0]), 'utf8'), text);
  assert.match(notices[0], /bandwidthLimit \("10M": must be a whole number, at least 0\)/);
  assert.match(notices[0], /ifExists \("replace": must be one of "skip", "overwrite", "rename"\)/);
});

test('a valid file, or none, is left alone', () => {
  const h = home(JSON.stringify({ clientId: CLIENT_ID, bandwidthLimit: 4096 }));
  assert.equal(repairSettingsFile(h), null);
  assert.equal(repairSettingsFile(home()), null);
  assert.equal(openConfig(h).get('bandwidthLimit'), 4096);
});

test('the CLI (a real process) runs on with the defaults and says where the broken file is', async () => {
  const h = home(BROKEN);
  const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main/cli.ts'), '--home', h, 'pairs', 'list'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: dir.path },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /config\.json is not valid JSON: line 4, column 2/);
  assert.match(r.err, /config\.broken-\d{8}-\d{6}Z\.json/);
  assert.equal(readdirSync(h).filter((n) => n.startsWith('config.broken-')).length, 1);
  assert.equal(JSON.parse(readFileSync(join(h, 'config.json'), 'utf8')).clientId, CLIENT_ID);
});
