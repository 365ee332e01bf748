#!/usr/bin/env node
// Draws the tray icons (checked in next to this script; run it again after changing a shape or colour):
//   tray-<state>.png (16 px) + tray-<state>@2x.png (32 px): a coloured disc with a white glyph (Windows, Linux);
//   tray-<state>Template.png + @2x: black glyphs on transparent for the macOS menu bar (it tints template images).
// States: idle, syncing, paused, error, offline, signed-out (main/shell/tray.ts trayIconState).
// Plain Node: a tiny PNG encoder (zlib + CRC-32), shapes rendered with 4×4 supersampling.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = dirname(fileURLToPath(import.meta.url));

const COLOURS = {
  idle: [46, 125, 50],
  syncing: [25, 118, 210],
  paused: [117, 117, 117],
  error: [211, 47, 47],
  offline: [158, 158, 158],
  'signed-out': [120, 120, 120],
};

// Shapes in a 0..1 square. Each returns true when (x, y) is inside.
const disc = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const ring = (cx, cy, r, w) => (x, y) => {
  const d = Math.hypot(x - cx, y - cy);
  return d <= r && d >= r - w;
};
const rect = (x0, y0, x1, y1) => (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
const tri = (ax, ay, bx, by, cx, cy) => (x, y) => {
  const s = (px, py, qx, qy) => (x - qx) * (py - qy) - (px - qx) * (y - qy);
  const d1 = s(ax, ay, bx, by);
  const d2 = s(bx, by, cx, cy);
  const d3 = s(cx, cy, ax, ay);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
};
const line = (x0, y0, x1, y1, w) => (x, y) => {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (x0 + t * dx), y - (y0 + t * dy)) <= w / 2;
};
const any = (...fs) => (x, y) => fs.some((f) => f(x, y));

const GLYPHS = {
  idle: any(line(0.28, 0.52, 0.44, 0.68, 0.11), line(0.44, 0.68, 0.73, 0.34, 0.11)), // a tick
  syncing: any(tri(0.5, 0.2, 0.26, 0.48, 0.74, 0.48), rect(0.42, 0.46, 0.58, 0.78)), // an up arrow
  paused: any(rect(0.32, 0.28, 0.44, 0.72), rect(0.56, 0.28, 0.68, 0.72)),
  error: any(rect(0.44, 0.22, 0.56, 0.58), disc(0.5, 0.72, 0.07)),
  offline: any(line(0.3, 0.3, 0.7, 0.7, 0.11), line(0.7, 0.3, 0.3, 0.7, 0.11)), // a cross
  'signed-out': any(ring(0.5, 0.42, 0.14, 0.08), rect(0.3, 0.6, 0.7, 0.76)), // a person outline
};

function render(size, pixel) {
  const data = Buffer.alloc(size * size * 4);
  const S = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const [cr, cg, cb, ca] = pixel((px + (sx + 0.5) / S) / size, (py + (sy + 0.5) / S) / size);
          r += cr * ca; g += cg * ca; b += cb * ca; a += ca;
        }
      }
      const o = (py * size + px) * 4;
      data[o] = a ? Math.round(r / a) : 0;
      data[o + 1] = a ? Math.round(g / a) : 0;
      data[o + 2] = a ? Math.round(b / a) : 0;
      data[o + 3] = Math.round((a / (S * S)) * 255);
    }
  }
  return png(size, data);
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const byte of buf) c = CRC[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, body) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(tb));
  return Buffer.concat([len, tb, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const base = disc(0.5, 0.5, 0.47);
for (const [state, colour] of Object.entries(COLOURS)) {
  const glyph = GLYPHS[state];
  const coloured = (x, y) => (glyph(x, y) && base(x, y) ? [255, 255, 255, 1] : base(x, y) ? [...colour, 1] : [0, 0, 0, 0]);
  // template: the disc outline and the glyph in black; the menu bar tints it for light and dark
  const outline = ring(0.5, 0.5, 0.47, 0.1);
  const template = (x, y) => (glyph(x, y) || outline(x, y) ? [0, 0, 0, 1] : [0, 0, 0, 0]);
  writeFileSync(join(DIR, `tray-${state}.png`), render(16, coloured));
  writeFileSync(join(DIR, `tray-${state}@2x.png`), render(32, coloured));
  writeFileSync(join(DIR, `tray-${state}Template.png`), render(16, template));
  writeFileSync(join(DIR, `tray-${state}Template@2x.png`), render(32, template));
}
console.log(`wrote ${Object.keys(COLOURS).length * 4} icons to ${DIR}`);
