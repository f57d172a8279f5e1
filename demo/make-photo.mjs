#!/usr/bin/env node
// Renders demo/photo.png, the "photograph" the demo filters: a grayscale lake
// scene (sky and clouds, sun, two mountain ranges, forested hills, a cabin with a
// jetty, pines, the lake's rippled reflection, a grassy shore, grain and a
// vignette), procedurally and deterministically, so the repository ships the
// image and the code that made it (same licence as the project: MIT).
//
//   node demo/make-photo.mjs            # writes demo/photo.png (480x320)
//   node demo/make-photo.mjs out.png 960 640
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeGrayPNG } from './png.mjs';
import { seeded } from './random.js';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, 'photo.png');
const W = Number(process.argv[3] ?? 480), H = Number(process.argv[4] ?? 320);
const S = W / 480; // scene units are designed at 480x320

// --- deterministic noise -----------------------------------------------------
const rnd = seeded(20240613);
const PERM = new Uint8Array(512);
{
  const p = Array.from({ length: 256 }, (_, i) => i);
  for (let i = 255; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [p[i], p[j]] = [p[j], p[i]]; }
  for (let i = 0; i < 512; i++) PERM[i] = p[i & 255];
}
const fade = (t) => t * t * t * (t * (t * 6 - 15) + 10);
const lerp = (a, b, t) => a + (b - a) * t;
function grad(h, x, y) {
  const g = h & 7;
  const u = g < 4 ? x : y, v = g < 4 ? y : x;
  return ((g & 1) ? -u : u) + ((g & 2) ? -2 * v : 2 * v);
}
/** Perlin noise in about [-1, 1]. */
function noise(x, y) {
  const X = Math.floor(x) & 255, Y = Math.floor(y) & 255;
  x -= Math.floor(x); y -= Math.floor(y);
  const u = fade(x), v = fade(y);
  const a = PERM[X] + Y, b = PERM[X + 1] + Y;
  return 0.5 * lerp(lerp(grad(PERM[a], x, y), grad(PERM[b], x - 1, y), u),
    lerp(grad(PERM[a + 1], x, y - 1), grad(PERM[b + 1], x - 1, y - 1), u), v);
}
function fbm(x, y, octaves = 5, lac = 2, gain = 0.5) {
  let s = 0, a = 1, norm = 0;
  for (let o = 0; o < octaves; o++) { s += a * noise(x, y); norm += a; x *= lac; y *= lac; a *= gain; }
  return s / norm;
}
function ridged(x, y, octaves = 6) {
  let s = 0, a = 0.5, norm = 0;
  for (let o = 0; o < octaves; o++) { const n = 1 - Math.abs(noise(x, y)); s += a * n * n; norm += a; x *= 2.1; y *= 2.1; a *= 0.5; }
  return s / norm;
}
const clamp = (v, lo = 0, hi = 1) => (v < lo ? lo : v > hi ? hi : v);
const smooth = (e0, e1, x) => { const t = clamp((x - e0) / (e1 - e0)); return t * t * (3 - 2 * t); };

// --- the scene above the water ------------------------------------------------
const horizon = 212 * S;          // the lake's far shore
const shore = 262 * S;            // where the near shore begins (varies a little)
const sun = { x: 352 * S, y: 74 * S, r: 13 * S };
const img = new Float64Array(W * H);

function farRidge(x) { return 128 * S + 46 * S * (ridged(x / (150 * S), 3.1) - 0.45) + 10 * S * noise(x / (40 * S), 7.7); }
function nearRidge(x) { return 176 * S + 18 * S * fbm(x / (90 * S), 11.3, 4) + 8 * S * Math.sin(x / (70 * S)); }
function hillLine(x) { return 198 * S + 8 * S * fbm(x / (50 * S), 21.9, 3); }

function sky(x, y) {
  const t = y / horizon;
  let v = lerp(0.50, 0.86, Math.pow(t, 0.8));
  // sun glow and disk
  const d = Math.hypot(x - sun.x, y - sun.y);
  v += 0.30 * Math.exp(-d / (38 * S)) + 0.12 * Math.exp(-d / (120 * S));
  if (d < sun.r) v = 1.05;
  // clouds: stretched fbm, bright tops and grey bellies
  const cx = x / (170 * S), cy = y / (45 * S);
  const c = fbm(cx, cy, 6) + 0.25 * (1 - t) - 0.05;
  const cover = smooth(0.05, 0.32, c);
  const belly = smooth(0.1, 0.4, fbm(cx + 3.3, cy + 0.35, 4));
  const cloud = 0.93 - 0.22 * belly;
  return lerp(v, cloud, cover * 0.85 * smooth(0, 0.35, 1 - t));
}

for (let y = 0; y < Math.ceil(horizon) + 2; y++) {
  for (let x = 0; x < W; x++) {
    let v = sky(x, y);
    const fr = farRidge(x);
    if (y > fr) {
      // distant range: hazy, snow on the highest parts, rock texture
      const depth = (y - fr) / (horizon - fr + 1);
      const snow = smooth(124 * S, 108 * S, fr) * smooth(22 * S, 6 * S, y - fr) * smooth(-0.15, 0.2, fbm(x / (7 * S), y / (5 * S), 3));
      const rock = 0.07 * fbm(x / (7 * S), y / (7 * S), 5);
      // light from the sun's side: slope of the ridge, smoothed over a few pixels
      const slope = (farRidge(x + 6 * S) - farRidge(x - 6 * S)) / (12 * S);
      v = lerp(0.58, 0.44, depth) + rock + 0.10 * clamp(slope, -1, 1) * smooth(28 * S, 2 * S, y - fr) + 0.30 * snow;
    }
    const nr = nearRidge(x);
    if (y > nr) {
      const forest = fbm(x / (3 * S), y / (3 * S), 3);
      v = 0.36 + 0.06 * (y - nr) / (30 * S) * -1 + 0.07 * forest;
    }
    const hl = hillLine(x);
    if (y > hl) v = 0.24 + 0.05 * fbm(x / (2.5 * S), y / (2.5 * S), 3);
    img[y * W + x] = v;
  }
}

// --- the cabin on the far shore, and a jetty -----------------------------------
function rect(x0, y0, x1, y1, f) {
  for (let y = Math.max(0, Math.round(y0)); y < Math.min(H, Math.round(y1)); y++) {
    for (let x = Math.max(0, Math.round(x0)); x < Math.min(W, Math.round(x1)); x++) img[y * W + x] = f(x, y);
  }
}
const cab = { x0: 86 * S, x1: 150 * S, y0: 176 * S, y1: 214 * S };
rect(cab.x0, cab.y0, cab.x1, cab.y1, (x, y) => 0.62 - (Math.floor((y - cab.y0) / (3 * S)) % 2 ? 0.06 : 0) + 0.02 * noise(x / 3, y / 3));
// roof: a triangle overhanging the walls
for (let y = Math.round(150 * S); y < Math.round(cab.y0 + 1); y++) {
  const half = ((y - 150 * S) / (26 * S)) * (40 * S);
  const mid = (cab.x0 + cab.x1) / 2;
  for (let x = Math.round(mid - half); x < Math.round(mid + half); x++) {
    if (x >= 0 && x < W) img[y * W + x] = 0.18 + 0.05 * ((Math.floor(x / (4 * S)) + Math.floor(y / (3 * S))) % 2);
  }
}
rect(131 * S, 152 * S, 138 * S, 166 * S, () => 0.30);             // chimney
rect(96 * S, 186 * S, 112 * S, 200 * S, () => 0.90);               // window
rect(103 * S, 186 * S, 105 * S, 200 * S, () => 0.30);              // mullion
rect(96 * S, 192 * S, 112 * S, 194 * S, () => 0.30);               // transom
rect(124 * S, 188 * S, 136 * S, 214 * S, () => 0.16);              // door
rect(150 * S, 208 * S, 232 * S, 212 * S, (x) => 0.52 + (Math.floor(x / (5 * S)) % 2 ? 0.05 : 0)); // jetty deck
for (let px = 156; px < 232; px += 18) rect(px * S, 212 * S, (px + 3) * S, 220 * S, () => 0.14); // posts

// --- pines --------------------------------------------------------------------
function pine(cx, base, h, w, shade) {
  for (let y = Math.round(base - h); y < Math.round(base); y++) {
    const t = (y - (base - h)) / h;                  // 0 at the tip
    const tier = (t * 5) % 1;                        // five tiers of branches
    const half = w * (0.15 + 0.85 * t) * (0.55 + 0.45 * tier) / 2;
    for (let x = Math.round(cx - half); x <= Math.round(cx + half); x++) {
      if (x >= 0 && x < W && y >= 0 && y < H) img[y * W + x] = shade + 0.04 * noise(x / 2, y / 2);
    }
  }
  rect(cx - 1.5 * S, base - 2 * S, cx + 1.5 * S, base + 4 * S, () => shade * 0.8);
}
for (const [x, h, w, s] of [[20, 70, 30, 0.10], [44, 92, 36, 0.08], [66, 60, 26, 0.12], [170, 44, 18, 0.16], [182, 52, 20, 0.15],
  [420, 84, 34, 0.09], [446, 104, 40, 0.07], [468, 76, 30, 0.10]]) pine(x * S, 214 * S, h * S, w * S, s);

// --- the lake: a rippled, darkened reflection ----------------------------------
for (let y = Math.ceil(horizon); y < H; y++) {
  const dy = y - horizon;
  for (let x = 0; x < W; x++) {
    const ripple = 3 * S * noise(x / (30 * S), dy / (3 * S)) * (0.3 + dy / (40 * S)) + 1.2 * S * Math.sin(dy / (1.7 * S) + x / (60 * S));
    const sy = clamp(Math.round(horizon - dy * 1.02 + ripple * 0.6), 0, Math.floor(horizon));
    const sx = clamp(Math.round(x + ripple), 0, W - 1);
    let v = 0.78 * img[sy * W + sx] + 0.04;
    v += 0.06 * smooth(0.55, 0.9, noise(x / (60 * S), dy / (1.5 * S)));  // glints
    img[y * W + x] = v;
  }
}

// --- the near shore: grass, stones ----------------------------------------------
for (let x = 0; x < W; x++) {
  const top = shore + 10 * S * fbm(x / (80 * S), 31.7, 3) - 6 * S * Math.exp(-(((x - 300 * S) / (60 * S)) ** 2));
  for (let y = Math.max(0, Math.round(top)); y < H; y++) {
    const depth = (y - top) / (H - top + 1);
    const blades = 0.10 * noise(x / (0.9 * S), y / (7 * S)) + 0.05 * noise(x / (2.2 * S), y / (14 * S));
    img[y * W + x] = 0.30 - 0.14 * depth + blades;
  }
}
for (const [x, y, r] of [[300, 282, 13], [322, 290, 8], [250, 300, 10]]) {
  for (let yy = Math.round((y - r) * S); yy < Math.round((y + r) * S); yy++) {
    for (let xx = Math.round((x - 1.6 * r) * S); xx < Math.round((x + 1.6 * r) * S); xx++) {
      const d = ((xx / S - x) / (1.6 * r)) ** 2 + ((yy / S - y) / r) ** 2;
      if (d < 1 && yy >= 0 && yy < H && xx >= 0 && xx < W && yy / S < y + r * 0.6) {
        img[yy * W + xx] = 0.45 + 0.25 * (1 - (yy / S - (y - r)) / (2 * r)) + 0.04 * noise(xx / 2, yy / 2);
      }
    }
  }
}

// --- optics: a slight lens blur, vignette, tone curve, grain -----------------
const blurred = new Float64Array(W * H);
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) {
    let s = 0, n = 0;
    for (let j = -1; j <= 1; j++) {
      for (let i = -1; i <= 1; i++) {
        const yy = y + j, xx = x + i;
        if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
        const wgt = (i === 0 ? 2 : 1) * (j === 0 ? 2 : 1);
        s += wgt * img[yy * W + xx]; n += wgt;
      }
    }
    blurred[y * W + x] = s / n;
  }
}
const gauss = () => { let u = 0; while (u === 0) u = rnd(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd()); };
const pixels = new Uint8Array(W * H);
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) {
    const r = Math.hypot((x - W / 2) / (W / 2), (y - H / 2) / (H / 2));
    let v = blurred[y * W + x] * (1 - 0.22 * r * r);
    v = clamp(v);
    v = v < 0.5 ? 0.5 * Math.pow(2 * v, 1.15) : 1 - 0.5 * Math.pow(2 * (1 - v), 1.1); // gentle S-curve
    v += 0.012 * gauss();
    pixels[y * W + x] = Math.round(clamp(v) * 255);
  }
}

const png = encodeGrayPNG(W, H, pixels, {
  Title: 'Lake cabin (procedural)',
  Software: 'wasmconv demo/make-photo.mjs',
  Copyright: 'MIT, the wasmconv authors',
});
writeFileSync(out, png);
console.log(`wrote ${out}: ${W}x${H} gray, ${png.length} bytes`);
