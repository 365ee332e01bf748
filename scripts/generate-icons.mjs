#!/usr/bin/env node
// Draws the app and tray icons with plain Node (zlib for PNG compression, nothing else) and writes:
//   assets/icons/<N>x<N>.png  N = 16 32 48 64 128 256 512  (app icon: electron-builder, window, Linux .desktop)
//   assets/tray/tray.png, tray@2x.png                       (Windows/Linux tray: blue cloud)
//   assets/tray/trayTemplate.png, trayTemplate@2x.png       (macOS menu bar: black + alpha template image)
// The design is a white cloud with an upward arrow on a blue rounded square. Run: node scripts/generate-icons.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;

// ---------------------------------------------------------------- PNG encoding (RGBA, 8 bit)
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function encodePng(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------- shapes in unit coordinates (0..1, y down)
const inCircle = (x, y, cx, cy, r) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
function inRoundRect(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function inTriangle(x, y, [ax, ay], [bx, by], [cx, cy]) {
  const s = (px, py, qx, qy, rx, ry) => (px - rx) * (qy - ry) - (qx - rx) * (py - ry);
  const d1 = s(x, y, ax, ay, bx, by);
  const d2 = s(x, y, bx, by, cx, cy);
  const d3 = s(x, y, cx, cy, ax, ay);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
}

/** The cloud, centred in the unit square, scaled by `k` around the centre. */
function inCloud(x, y, k = 1) {
  const u = 0.5 + (x - 0.5) / k;
  const v = 0.5 + (y - 0.5) / k;
  return (
    inCircle(u, v, 0.335, 0.555, 0.165) ||
    inCircle(u, v, 0.52, 0.44, 0.215) ||
    inCircle(u, v, 0.695, 0.575, 0.145) ||
    inRoundRect(u, v, 0.17, 0.5, 0.84, 0.72, 0.1)
  );
}
function inArrow(x, y, k = 1) {
  const u = 0.5 + (x - 0.5) / k;
  const v = 0.5 + (y - 0.5) / k;
  return inTriangle(u, v, [0.51, 0.33], [0.385, 0.49], [0.635, 0.49]) || inRoundRect(u, v, 0.462, 0.46, 0.558, 0.66, 0.02);
}

// ---------------------------------------------------------------- rasteriser with supersampling
function render(size, shade, samples = 5) {
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) / size;
          const y = (py + (sy + 0.5) / samples) / size;
          const c = shade(x, y);
          if (!c) continue;
          // premultiplied accumulation
          r += c[0] * c[3];
          g += c[1] * c[3];
          b += c[2] * c[3];
          a += c[3];
        }
      }
      const n = samples * samples;
      const i = (py * size + px) * 4;
      if (a > 0) {
        rgba[i] = Math.round(r / a);
        rgba[i + 1] = Math.round(g / a);
        rgba[i + 2] = Math.round(b / a);
      }
      rgba[i + 3] = Math.round((a / n) * 255);
    }
  }
  return encodePng(size, rgba);
}

const mix = (c0, c1, t) => c0.map((v, i) => Math.round(v + (c1[i] - v) * t));
const TOP = [86, 150, 255];
const BOTTOM = [30, 78, 205];

function appIcon(x, y) {
  // 1/16 margin, rounded square with a vertical gradient, white cloud, arrow in the background colour
  if (!inRoundRect(x, y, 0.0625, 0.0625, 0.9375, 0.9375, 0.2)) return null;
  const bg = mix(TOP, BOTTOM, (y - 0.0625) / 0.875);
  if (inCloud(x, y, 0.82) && !inArrow(x, y, 0.82)) return [255, 255, 255, 1];
  return [...bg, 1];
}
const trayColour = [47, 111, 237];
const trayIcon = (colour) => (x, y) => (inCloud(x, y, 1.12) && !inArrow(x, y, 1.12) ? [...colour, 1] : null);

mkdirSync(root + 'assets/icons', { recursive: true });
mkdirSync(root + 'assets/tray', { recursive: true });
for (const n of [16, 32, 48, 64, 128, 256, 512]) writeFileSync(`${root}assets/icons/${n}x${n}.png`, render(n, appIcon, n >= 256 ? 3 : 6));
writeFileSync(root + 'assets/tray/tray.png', render(16, trayIcon(trayColour), 8));
writeFileSync(root + 'assets/tray/tray@2x.png', render(32, trayIcon(trayColour), 8));
writeFileSync(root + 'assets/tray/trayTemplate.png', render(16, trayIcon([0, 0, 0]), 8));
writeFileSync(root + 'assets/tray/trayTemplate@2x.png', render(32, trayIcon([0, 0, 0]), 8));
console.log('icons written to assets/icons and assets/tray');
