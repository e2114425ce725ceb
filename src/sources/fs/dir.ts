// fs.Dir (opendir). Node's Dir reads through a native directory handle it keeps in a
// private field, so rewind cannot stand in for the handle. The program gets a subclass of
// fs.Dir in both runs instead (so `instanceof fs.Dir` and `dir.path` hold): recording, each
// read and close is passed to the real Dir and logged; at replay each is served from the log.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Api } from '../../trace/format.js';
import { callbackCall, promiseCall, recording, syncCall } from './public.js';

type Callback = (...a: unknown[]) => void;
/* eslint-disable @typescript-eslint/no-explicit-any */
/** Handed to fs.Dir's constructor, which needs a handle; every method that would use it is overridden. */
const NO_HANDLE = { read: () => null, close: () => undefined };

type DirClass = new (real: fs.Dir | null, path: string, options?: unknown) => fs.Dir;
let madeDir: DirClass | undefined;

/** Made at the program's first opendir: fs.Dir loads Node's internal/fs/dir (fs/index.ts onFirstUse). */
const dirClass = (): DirClass => (madeDir ??= makeDirClass());

function makeDirClass(): DirClass {
  const NodeDir = fs.Dir as unknown as new (handle: unknown, path: string, options?: unknown) => fs.Dir;

  return class Dir extends NodeDir {
    #real: fs.Dir | null;
    #closed = false;

    constructor(real: fs.Dir | null, path: string, options?: unknown) {
      super(NO_HANDLE, path, options);
      this.#real = real;
    }

    override read(cb?: any): any {
      if (arguments.length === 0) {
        return promiseCall(Api['fs.dir.read'], ['promise'], 'Dir.read()', () => this.#real!.read());
      }
      callbackCall(Api['fs.dir.read'], ['cb'], 'Dir.read()', (done) => this.#real!.read(done as never), cb as Callback);
    }

    override readSync(): fs.Dirent | null {
      return syncCall(Api['fs.dir.read'], ['sync'], () => this.#real!.readSync());
    }

    override close(cb?: any): any {
      const wasClosed = this.#closed;
      this.#closed = true;
      if (cb === undefined) {
        return promiseCall(Api['fs.dir.close'], ['promise', wasClosed], 'Dir.close()', () => this.#real!.close());
      }
      callbackCall(
        Api['fs.dir.close'],
        ['cb', wasClosed],
        'Dir.close()',
        (done) => this.#real!.close(done as never),
        cb,
      );
    }

    override closeSync(): void {
      const wasClosed = this.#closed;
      syncCall(Api['fs.dir.close'], ['sync', wasClosed], () => this.#real!.closeSync());
      this.#closed = true;
    }

    async *entries(): AsyncGenerator<fs.Dirent, undefined> {
      try {
        while (true) {
          const dirent = await this.read();
          if (dirent === null) break;
          yield dirent;
        }
      } finally {
        await this.close();
      }
    }

    override [Symbol.asyncIterator](): AsyncGenerator<fs.Dirent, undefined> {
      return this.entries();
    }

    [Symbol.dispose](): void {
      if (!this.#closed) this.closeSync();
    }

    async [Symbol.asyncDispose](): Promise<void> {
      if (!this.#closed) await this.close();
    }
  };
}

/** Where the Dir reads: Node keeps the validated path (a URL becomes a path). */
export function dirPath(path: unknown): string {
  return path instanceof URL ? fileURLToPath(path) : (path as string);
}

/** opendir's result: recording wraps the real Dir; at replay the log says it opened. */
export function newDir(real: fs.Dir | null, path: unknown, options: unknown): fs.Dir {
  return new (dirClass())(recording() ? real : null, dirPath(path), options);
}
