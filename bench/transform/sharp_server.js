// The peer: a minimal sharp server doing the benchmark's transforms, one worker per core
// (node cluster), sharp's defaults otherwise. Encoder settings equal to ImageCDN's (see below:
// progressive JPEG with optimised Huffman tables, WebP effort 4, AVIF 4:2:0 effort 4).
// Usage: node sharp_server.js PORT SOURCE_DIR
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');

const [port, dir] = process.argv.slice(2);

const workloads = {
  // W1: 24 MP JPEG -> w=800 WebP q75
  w1: (src) => sharp(src).resize({ width: 800 }).webp({ quality: 75, effort: 4 }),
  // W2: the same -> JPEG q75 (progressive and optimised Huffman coding, as ImageCDN sends)
  w2: (src) => sharp(src).resize({ width: 800 }).jpeg({ quality: 75, progressive: true, optimiseCoding: true }),
  // W3: 4000 px PNG -> w=400 AVIF q50
  w3: (src) => sharp(src).resize({ width: 400 }).avif({ quality: 50, effort: 4, chromaSubsampling: '4:2:0' }),
};
// big (bench/load/large_originals.sh): a very large PNG -> w=400 WebP q75.
workloads.big = (src) => sharp(src).resize({ width: 400 }).webp({ quality: 75, effort: 4 });
const sources = { w1: 'photo.jpg', w2: 'photo.jpg', w3: 'graphic.png', big: 'big.png' };

// W5 (srcset): /w5/FILE/WIDTH/FORMAT, FILE one of camera-1.jpg … camera-8.jpg, FORMAT webp (q75)
// or jpeg (q75, progressive, optimised Huffman coding, as `format=pjpg`).
const w5Formats = {
  webp: (image) => image.webp({ quality: 75, effort: 4 }),
  jpeg: (image) => image.jpeg({ quality: 75, progressive: true, optimiseCoding: true }),
};
function w5(route) {
  const [file, width, format] = route.split('/').slice(1);
  if (!/^camera-[1-8]\.jpg$/.test(file) || !w5Formats[format]) return null;
  return { file, make: (src) => w5Formats[format](sharp(src).resize({ width: Number(width) })) };
}

if (cluster.isPrimary) {
  for (let i = 0; i < os.availableParallelism(); i++) cluster.fork();
} else {
  http.createServer((req, res) => {
    const name = req.url.split('?')[0].slice(1);
    const make = workloads[name];
    const job = name.startsWith('w5/') ? w5(name) : make && { file: sources[name], make };
    if (!job) { res.writeHead(404); res.end(); return; }
    // The original is read for every miss, as ImageCDN reads it from its store.
    fs.promises.readFile(path.join(dir, job.file)).then((bytes) => job.make(bytes).toBuffer()).then((out) => {
      res.writeHead(200, { 'Content-Length': out.length });
      res.end(out);
    }, (err) => { res.writeHead(500); res.end(String(err)); });
  }).listen(Number(port), '127.0.0.1');
}
