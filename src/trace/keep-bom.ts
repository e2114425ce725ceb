// msgpackr decodes a string longer than 64 bytes with a TextDecoder it makes as it loads, and
// a TextDecoder drops a leading byte order mark unless told not to: a file read as text that
// starts with one (a BOM, as Windows editors write them) came back one character shorter at
// replay, and the replay diverged. Imported by codec.ts before msgpackr, this module puts a
// TextDecoder that keeps the mark in the global's place while msgpackr loads; codec.ts puts
// the global back (its property exactly as it was) as soon as msgpackr has made its decoder,
// before any program code runs.
const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'TextDecoder');
const Real = globalThis.TextDecoder;

class TextDecoderKeepingBOM extends Real {
  constructor(label?: string, options?: TextDecoderOptions) {
    super(label, { ...options, ignoreBOM: true });
  }
}

Object.defineProperty(globalThis, 'TextDecoder', {
  value: TextDecoderKeepingBOM,
  writable: true,
  configurable: true,
  enumerable: false,
});

/** Puts the global TextDecoder back as it was. */
export function restoreTextDecoder(): void {
  if (descriptor) Object.defineProperty(globalThis, 'TextDecoder', descriptor);
  else delete (globalThis as { TextDecoder?: unknown }).TextDecoder;
}
