// How rewind writes paths and words into the commands it prints for the user to run.
import path from 'node:path';

/** A word for a POSIX shell, quoted only when it needs it. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path as the user types it: relative to the current directory when inside it. */
export function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
