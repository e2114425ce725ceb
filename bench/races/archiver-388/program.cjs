'use strict';
// archiver PR #388 (archiver 3.x): archiver's own test "should allow continue on stat failing".
// A file that does not exist is only a warning, but when its failing fs.lstat is the last stat
// to complete, after the other entries were processed, nothing calls the archive's finalize
// step again: the archive never ends, its output never closes, and the process just runs out
// of things to do.
const fs = require('fs');
const os = require('os');
const path = require('path');
const archiver = require('archiver');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archiver-388-'));
fs.writeFileSync(path.join(dir, 'test.txt'), 'test\n');
fs.writeFileSync(path.join(dir, 'empty.txt'), '');
const out = path.join(dir, 'errors-stat.json');
let closed = false;

const archive = archiver('json');
const testStream = fs.createWriteStream(out);
testStream.on('close', () => {
  closed = true;
  const entries = JSON.parse(fs.readFileSync(out, 'utf8')).map((e) => e.name);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`ok: ${entries.length} entries`);
});
// With nothing left to wait for, an archive whose output never closed has hung.
process.on('beforeExit', () => {
  if (closed) return;
  fs.rmSync(dir, { recursive: true, force: true });
  console.log('FAIL: the archive never finished: its output stream never closed');
  process.exit(1);
});
archive.pipe(testStream);
archive
  .file(path.join(dir, 'test.txt'), { name: 'test.txt' })
  .file(path.join(dir, 'test-missing.txt'), { name: 'test-missing.txt' })
  .file(path.join(dir, 'empty.txt'), { name: 'empty.txt' })
  .finalize();
