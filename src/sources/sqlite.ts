// node:sqlite (Node 22.5+): Node's built-in SQLite, native code reached without dlopen.
// Its exports are put behind the membrane (membrane.ts) as the program (or Node) loads it,
// in both modes alike (the module is built in: its shape is the Node binary's, and looking
// at it does no I/O): a program that never loads it pays nothing for it, and Node 22's
// experimental warning comes where Node gives it. Every DatabaseSync, StatementSync and
// iterator the program gets is a look-alike: while recording it forwards to the real one
// and logs each result; at replay the database file is never opened and every answer
// comes from the log.
import { builtinModule, cjsLoader, whenLoaded } from '../node/fields.js';
import type { Session, Source } from '../session/session.js';
import { Api } from '../trace/format.js';
import { nextLibrary } from './addons.js';
import { Membrane } from './membrane.js';

export const sqliteSource: Source = {
  name: 'sqlite',
  install(s: Session) {
    // Node 20, and 22.5 to 22.12 without --experimental-sqlite: nothing to record.
    if (!cjsLoader.isBuiltin('node:sqlite')) return;
    whenLoaded('sqlite', () => wrapSqlite(s, builtinModule<Record<string, unknown>>('node:sqlite')));
  },
};

function wrapSqlite(s: Session, mod: Record<string, unknown>): void {
  let used = false;
  // The first use is an event: `rewind info` lists node:sqlite among the native libraries.
  const m = new Membrane(s, { label: 'node:sqlite' }, nextLibrary(), () => {
    if (used) return;
    used = true;
    s.call(Api['sqlite.load'], null, () => 0);
  });
  const fakes = m.open(m.wrapExports({ ...mod })) as Record<string, unknown>;
  for (const k of Object.keys(fakes)) {
    const d = Object.getOwnPropertyDescriptor(mod, k);
    if (d && 'value' in d && d.writable) mod[k] = fakes[k];
  }
}
