// Writes the benchmark's originals. Usage: node make_sources.js DIR [camera|smooth]
//   camera (default): real photographs (Debian's mate-backgrounds) scaled to camera size with
//     sensor grain added, saved as a camera saves them (JPEG q92 4:2:0 with EXIF), so entropy and
//     file sizes are those of real uploads: photo.jpg 6000x4000, graphic.png 4000x2500 RGB, and
//     camera-1.jpg … camera-8.jpg (6000x4000, eight different scenes) for the srcset workload W5.
//   smooth: the earlier synthetic gradients (photo.jpg, graphic.png), kept to compare with the
//     figures measured on them before.
'use strict';
const sharp = require('sharp');
const path = require('node:path');
const fs = require('node:fs');

const [dir, kind = 'camera'] = process.argv.slice(2);
const PHOTOS = '/usr/share/backgrounds/mate/nature';
const SCENES = ['Wood', 'Garden', 'LadyBird', 'TwoWings', 'YellowFlower', 'Aqua', 'RainDrops', 'Blinds'];

// Deterministic, so every run measures the same bytes (mulberry32).
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Sensor grain: luminance noise (sigma 5) plus weaker chroma noise (sigma 2), as a phone or an
// APS-C camera at ISO 400-800 leaves it after its own noise reduction.
function addGrain(pixels, seed) {
  const next = random(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  const clamp = (v) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let i = 0; i < pixels.length; i += 3) {
    const luma = 5 * gauss();
    pixels[i] = clamp(pixels[i] + luma + 2 * gauss());
    pixels[i + 1] = clamp(pixels[i + 1] + luma + 2 * gauss());
    pixels[i + 2] = clamp(pixels[i + 2] + luma + 2 * gauss());
  }
  return pixels;
}

async function cameraPixels(scene, width, height, seed) {
  const { data } = await sharp(path.join(PHOTOS, `${scene}.jpg`))
    .resize(width, height, { fit: 'cover', kernel: 'lanczos3' })
    .removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return sharp(addGrain(data, seed), { raw: { width, height, channels: 3 } });
}

const EXIF = { IFD0: { Make: 'ImageCDN bench', Model: 'camera-like source', Software: 'make_sources.js' } };

async function camera() {
  const outputs = [];
  const jpeg = (image, name) => image.withExif(EXIF)
    .jpeg({ quality: 92, chromaSubsampling: '4:2:0' }).toFile(path.join(dir, name));
  outputs.push(['photo.jpg', await jpeg(await cameraPixels(SCENES[0], 6000, 4000, 1), 'photo.jpg')]);
  outputs.push(['graphic.png', await (await cameraPixels(SCENES[1], 4000, 2500, 2))
    .png({ compressionLevel: 6 }).toFile(path.join(dir, 'graphic.png'))]);
  for (let i = 0; i < SCENES.length; i++) {
    const name = `camera-${i + 1}.jpg`;
    outputs.push([name, await jpeg(await cameraPixels(SCENES[i], 6000, 4000, 10 + i), name)]);
  }
  return outputs;
}

function gradient(width, height) {
  const buf = Buffer.alloc(width * height * 3);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.hypot(x - width / 2, y - height / 2);
      const ring = 40 * Math.sin(r / 37);
      buf[i++] = (x / width) * 200 + ring + 30;
      buf[i++] = (y / height) * 180 + ring / 2 + 40;
      buf[i++] = (1 - x / width) * 160 - ring + 60;
    }
  }
  return buf;
}

async function smooth() {
  const noise = { type: 'gaussian', mean: 0, sigma: 20 };
  const photo = await sharp(gradient(6000, 4000), { raw: { width: 6000, height: 4000, channels: 3 } })
    .composite([{ input: { create: { width: 6000, height: 4000, channels: 3, noise } }, blend: 'overlay' }])
    .jpeg({ quality: 92 }).toFile(path.join(dir, 'photo.jpg'));
  const graphic = await sharp(gradient(4000, 2500), { raw: { width: 4000, height: 2500, channels: 3 } })
    .png().toFile(path.join(dir, 'graphic.png'));
  return [['photo.jpg', photo], ['graphic.png', graphic]];
}

(async () => {
  if (kind !== 'camera' && kind !== 'smooth') throw new Error(`unknown source kind ${kind}`);
  if (kind === 'camera' && !fs.existsSync(PHOTOS)) throw new Error(`${PHOTOS} missing: apt-get install mate-backgrounds`);
  const outputs = kind === 'camera' ? await camera() : await smooth();
  for (const [name, info] of outputs) console.log(`${name} ${info.width}x${info.height} ${info.size} bytes`);
})().catch((err) => { console.error(err.message); process.exit(1); });
