// Everyday pure-JS libraries whose results come from the clock, randomness, timers and the
// file system in ways fixtures rarely exercise: time zones and Intl formatting, time-based
// ids, caches that expire by performance.now(), file tools that walk, copy, pack and watch.
import fs from 'node:fs';
import path from 'node:path';

export const EVERYDAY = [
  {
    name: 'dates-intl',
    what: "luxon 3 and dayjs 1 (utc, timezone, relativeTime): the wall clock in other zones, Intl's DateTimeFormat and RelativeTimeFormat, a Date's local string and offset",
    fast: true,
    packages: { luxon: '3.5.0', dayjs: '1.11.13' },
    files: {
      'main.mjs': `import { DateTime, Interval } from 'luxon';
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import tz from 'dayjs/plugin/timezone.js';
import relativeTime from 'dayjs/plugin/relativeTime.js';
dayjs.extend(utc); dayjs.extend(tz); dayjs.extend(relativeTime);
console.log('luxon', DateTime.now().toISO(), DateTime.local().zoneName, DateTime.now().setZone('America/New_York').toFormat('ffff'));
console.log('relative', DateTime.now().minus({ minutes: 3 }).toRelative(), Interval.fromDateTimes(DateTime.now(), DateTime.now().plus({ days: 2 })).length('hours'));
console.log('intl', new Intl.DateTimeFormat('en-US', { dateStyle: 'full', timeStyle: 'long', timeZone: 'Asia/Tokyo' }).format(), Intl.DateTimeFormat().resolvedOptions().timeZone);
console.log('local', new Date().getTimezoneOffset(), new Date().toString(), new Date().toLocaleString('de-DE'));
console.log('dayjs', dayjs().format(), dayjs().tz('Europe/Paris').format('YYYY-MM-DD HH:mm:ss Z'), dayjs().subtract(2, 'hour').fromNow());
console.log('rtf', new Intl.RelativeTimeFormat('fr').format(-1, 'day'), Date.UTC(2020, 1, 1), Date.parse('2020-01-01'));
await new Promise((r) => setTimeout(r, 30));
console.log('later', DateTime.now().diff(DateTime.fromMillis(0)).as('years').toFixed(9), performance.timeOrigin, performance.now().toFixed(3));
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'ids-cache',
    what: 'nanoid 5 and uuid 11 (v1, v4, v6, v7: ids from the clock and crypto randomness), lru-cache 11 whose entries expire by performance.now()',
    fast: true,
    packages: { nanoid: '5.0.9', uuid: '11.0.3', 'lru-cache': '11.0.2' },
    files: {
      'main.mjs': `import { nanoid, customAlphabet } from 'nanoid';
import { v1, v4, v6, v7 } from 'uuid';
import { LRUCache } from 'lru-cache';
console.log(nanoid(), customAlphabet('abc', 12)(), v1(), v4(), v6(), v7());
const c = new LRUCache({ max: 50, ttl: 20, ttlAutopurge: true, updateAgeOnGet: true });
for (let i = 0; i < 100; i++) c.set('k' + i, { i, id: nanoid(8) });
console.log('size', c.size, JSON.stringify(c.get('k99')), c.getRemainingTTL('k99'));
await new Promise((r) => setTimeout(r, 40));
console.log('expired', c.size, c.get('k99'), crypto.randomUUID(), crypto.getRandomValues(new Uint32Array(2)).join(','));
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'fs-tools',
    what: 'fast-glob 3 (stats), fs-extra 11 (output, copy, move, JSON, remove) and tar 7 (gzip create, extract, list) on a tree the program makes',
    fast: false,
    packages: { 'fast-glob': '3.3.2', 'fs-extra': '11.2.0', tar: '7.4.3' },
    outputs: ['work'],
    files: {
      'main.mjs': `import fg from 'fast-glob';
import fse from 'fs-extra';
import * as tar from 'tar';
import fs from 'node:fs';
import path from 'node:path';
const root = 'work';
for (let i = 0; i < 30; i++) fse.outputFileSync(path.join(root, 'src', 'd' + (i % 4), 'f' + i + '.txt'), 'file ' + i + ' ' + 'x'.repeat(i * 13) + '\\n');
console.log('glob', (await fg('**/*.txt', { cwd: root, stats: true })).map((e) => e.path + ':' + e.stats.size).sort().join(' '));
await fse.copy(path.join(root, 'src'), path.join(root, 'copy'));
await fse.move(path.join(root, 'copy', 'd1'), path.join(root, 'moved'));
await fse.writeJson(path.join(root, 'x.json'), { a: 1 });
console.log('copied', (await fg('**', { cwd: root, onlyFiles: true })).length, JSON.stringify(fse.readJsonSync(path.join(root, 'x.json'))));
await tar.c({ gzip: true, file: path.join(root, 'a.tgz'), cwd: root, portable: true }, ['src']);
fs.mkdirSync(path.join(root, 'out'));
await tar.x({ file: path.join(root, 'a.tgz'), cwd: path.join(root, 'out') });
const listed = [];
await tar.t({ file: path.join(root, 'a.tgz'), onReadEntry: (e) => listed.push(e.path + ':' + e.size) });
console.log('tar', listed.sort().join(' '), (await fg('out/**', { cwd: root })).length);
await fse.remove(path.join(root, 'copy'));
console.log('removed', fs.existsSync(path.join(root, 'copy')), fs.readdirSync(root).sort().join(','));
`,
    },
    command: ['node', 'main.mjs'],
    // The tree is gone, and a file stands where the program made its directory: the replay
    // must neither read it nor write the tree again.
    changeWorld: (ctx) => {
      fs.rmSync(path.join(ctx.dir, 'work'), { recursive: true, force: true });
      fs.writeFileSync(path.join(ctx.dir, 'work'), 'not a directory');
    },
  },
  {
    name: 'chokidar',
    what: "chokidar 4 watching a directory the program changes (fs.watch events, awaitWriteFinish's stat polling): add, change, unlink",
    fast: false,
    packages: { chokidar: '4.0.3' },
    outputs: ['watched'],
    files: {
      'main.mjs': `import chokidar from 'chokidar';
import fs from 'node:fs';
import path from 'node:path';
const root = 'watched';
fs.mkdirSync(root, { recursive: true });
fs.writeFileSync(path.join(root, 'a.txt'), 'a');
const w = chokidar.watch(root, { awaitWriteFinish: { stabilityThreshold: 30, pollInterval: 10 } });
w.on('all', (ev, p) => console.log('event', ev, path.relative(root, p) || '.'));
await new Promise((r) => w.on('ready', r));
console.log('ready');
const pause = () => new Promise((r) => setTimeout(r, 150));
fs.writeFileSync(path.join(root, 'b.txt'), 'bbb');
await pause();
fs.appendFileSync(path.join(root, 'a.txt'), 'more');
await pause();
fs.unlinkSync(path.join(root, 'b.txt'));
await pause();
await w.close();
console.log('closed');
`,
    },
    command: ['node', 'main.mjs'],
    changeWorld: (ctx) => fs.rmSync(path.join(ctx.dir, 'watched'), { recursive: true, force: true }),
  },
];
