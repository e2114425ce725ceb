// Post-build: marks rewind's own sources in every source map under dist/ with
// x_google_ignoreList, so that debuggers which honour it (Chrome DevTools, VS Code) never
// step through rewind's frames, wherever rewind is installed. The trampoline stays out:
// it is the one rewind frame a debugger is meant to pause in (src/debug/trampoline.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const SHOWN = /(^|\/)src\/debug\/trampoline\.ts$/;

let maps = 0;
for (const entry of fs.readdirSync(DIST, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.map')) continue;
  const file = path.join(entry.parentPath ?? entry.path, entry.name);
  if (file.includes(`${path.sep}.compile-cache${path.sep}`)) continue;
  const map = JSON.parse(fs.readFileSync(file, 'utf8'));
  map.x_google_ignoreList = map.sources.flatMap((source, i) => (SHOWN.test(source) ? [] : [i]));
  fs.writeFileSync(file, JSON.stringify(map));
  maps++;
}
if (maps === 0) throw new Error(`no source maps under ${DIST}: is "sourceMap" on in tsconfig.json?`);
