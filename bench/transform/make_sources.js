// Writes the benchmark's originals: a 6000x4000 photo-like JPEG and a 4000x2500 PNG.
'use strict';
const sharp = require('sharp');
const path = require('node:path');
const dir = process.argv[2];

function gradient(width, height, channels) {
  const buf = Buffer.alloc(width * height * channels);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.hypot(x - width / 2, y - height / 2);
      const ring = 40 * Math.sin(r / 37);
      buf[i++] = (x / width) * 200 + ring + 30;
      buf[i++] = (y / height) * 180 + ring / 2 + 40;
      buf[i++] = (1 - x / width) * 160 - ring + 60;
      if (channels === 4) buf[i++] = 255;
    }
  }
  return buf;
}

(async () => {
  const noise = { type: 'gaussian', mean: 0, sigma: 20 };
  const photo = await sharp(gradient(6000, 4000, 3), { raw: { width: 6000, height: 4000, channels: 3 } })
    .composite([{ input: { create: { width: 6000, height: 4000, channels: 3, noise } }, blend: 'overlay' }])
    .jpeg({ quality: 92 }).toFile(path.join(dir, 'photo.jpg'));
  const graphic = await sharp(gradient(4000, 2500, 3), { raw: { width: 4000, height: 2500, channels: 3 } })
    .png().toFile(path.join(dir, 'graphic.png'));
  console.log(`photo.jpg ${photo.size} bytes, graphic.png ${graphic.size} bytes`);
})();
