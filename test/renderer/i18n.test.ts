import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CATALOGUES, createTranslator, fill, LOCALES, resolveLocale, type MessageKey } from '../../renderer/i18n/translator.js';

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every catalogue has every key, none empty, with the same placeholders as English', () => {
  const keys = Object.keys(CATALOGUES.en) as MessageKey[];
  assert.ok(keys.length > 200, `${keys.length} keys`);
  for (const locale of LOCALES) {
    const cat = CATALOGUES[locale];
    assert.deepEqual(Object.keys(cat).sort(), [...keys].sort(), `${locale}: same key set as en`);
    for (const k of keys) {
      assert.ok(cat[k].trim() !== '', `${locale} ${k} is empty`);
      assert.deepEqual(placeholders(cat[k]), placeholders(CATALOGUES.en[k]), `${locale} ${k}: placeholders`);
    }
  }
});

test('plural keys come in pairs (.one and .other)', () => {
  const keys = Object.keys(CATALOGUES.en);
  for (const k of keys.filter((x) => x.endsWith('.one'))) assert.ok(keys.includes(k.replace(/\.one$/, '.other')), k);
  for (const k of keys.filter((x) => x.endsWith('.other'))) assert.ok(keys.includes(k.replace(/\.other$/, '.one')), k);
});

test('the Chinese catalogue is Chinese: most texts contain CJK characters', () => {
  const texts = Object.entries(CATALOGUES['zh-CN']).filter(([k]) => !['app.name', 'app.account', 'action.rowLabel', 'queue.bytes', 'settings.version'].includes(k));
  const cjk = texts.filter(([, v]) => /[\u4e00-\u9fff]/.test(v));
  assert.ok(cjk.length / texts.length > 0.97, `${texts.length - cjk.length} untranslated: ${texts.filter(([, v]) => !/[\u4e00-\u9fff]/.test(v)).map(([k]) => k).join(', ')}`);
});

test('every key the renderer uses exists (no key built from a typo hides behind a template string)', () => {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'renderer');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.ts') && !d.endsWith('i18n')) files.push(join(d, e.name));
    }
  };
  walk(root);
  const used = new Set<string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/\b(?:t|plural)\(\s*'([a-zA-Z.-]+)'/g)) used.add(m[1]);
  assert.ok(used.size > 100, `${used.size} literal keys found`);
  const keys = new Set(Object.keys(CATALOGUES.en));
  for (const k of used) assert.ok(keys.has(k) || keys.has(`${k}.one`), `renderer uses unknown key ${k}`);
});

test('resolveLocale: the setting wins; "system" follows the browser language', () => {
  const table: Array<[Parameters<typeof resolveLocale>[0], string, string]> = [
    ['en', 'zh-CN', 'en'],
    ['zh-CN', 'en-US', 'zh-CN'],
    ['system', 'zh-CN', 'zh-CN'],
    ['system', 'zh', 'zh-CN'],
    ['system', 'zh-Hans-SG', 'zh-CN'],
    ['system', 'zh-TW', 'zh-CN'],
    ['system', 'en-GB', 'en'],
    ['system', 'de-DE', 'en'],
    ['system', '', 'en'],
  ];
  for (const [setting, nav, want] of table) assert.equal(resolveLocale(setting, nav), want, `${setting} + ${nav}`);
});

test('fill replaces known placeholders and leaves unknown ones visible', () => {
  assert.equal(fill('{a} and {b}', { a: 1, b: 'x' }), '1 and x');
  assert.equal(fill('{a} and {missing}', { a: 1 }), '1 and {missing}');
});

test('formatting per locale: numbers, bytes, speeds, durations, plurals', () => {
  const en = createTranslator('en');
  const zh = createTranslator('zh-CN');
  const bytes: Array<[number, string]> = [
    [0, '0 B'],
    [1023, '1,023 B'],
    [1536, '1.5 KB'],
    [2000, '2.0 KB'],
    [10 * 1024 - 1, '10 KB'],
    [150 * 1024 * 1024, '150 MB'],
    [3.25 * 1024 ** 4, '3.3 TB'],
    [-5, '0 B'],
    [Number.NaN, '0 B'],
  ];
  for (const [n, text] of bytes) assert.equal(en.bytes(n), text, String(n));
  assert.equal(en.speed(2048), '2.0 KB/s');
  assert.equal(en.number(12345), '12,345');
  assert.equal(zh.number(12345), '12,345');

  const durations: Array<[number | null, string, string]> = [
    [null, '', ''],
    [Infinity, '', ''],
    [-1, '', ''],
    [4.2, '5s', '5 秒'],
    [125, '2m 05s', '2 分 05 秒'],
    [3720, '1h 02m', '1 小时 02 分'],
    [500 * 3600, '21d', '21 天'],
  ];
  for (const [s, e, z] of durations) {
    assert.equal(en.duration(s), e, `en ${s}`);
    assert.equal(zh.duration(s), z, `zh ${s}`);
  }
  assert.equal(en.plural('queue.count', 1), '1 upload');
  assert.equal(en.plural('queue.count', 10_000), '10,000 uploads');
  assert.equal(zh.plural('queue.count', 1), '1 个上传');
  assert.equal(en.plural('drop.queued', 2, { target: 'cloudreve://my/x' }), '2 items queued for cloudreve://my/x.');
  assert.match(en.dateTime(Date.UTC(2026, 0, 2, 3, 4)), /2026/);
  assert.match(zh.dateTime(Date.UTC(2026, 0, 2, 3, 4)), /2026年/);
});
