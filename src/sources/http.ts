// http: the bytes an HTTP server writes must be the same in both runs, and Node's `Date:`
// response header is the one thing in them taken from a clock rewind cannot reach (a
// private copy of Date, cached for a second on a private timer). When Node would add it,
// rewind adds it instead, from the session's wall clock, at the same place in the header
// block (right after the program's own headers), so the response bytes do not change.
import http from 'node:http';
import type { Session, Source } from '../session/session.js';
import { original } from '../session/originals.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Headers = Record<string, unknown> | unknown[] | null | undefined;

/** Whether a header list (any of _storeHeader's forms) names a Date header. */
function hasDate(headers: Headers, outHeaders: unknown): boolean {
  if (!headers) return false;
  const isDate = (k: unknown) => typeof k === 'string' && k.length === 4 && k.toLowerCase() === 'date';
  if (Array.isArray(headers)) {
    if (headers.length && Array.isArray(headers[0])) return headers.some((e) => isDate((e as unknown[])[0]));
    for (let i = 0; i < headers.length; i += 2) if (isDate(headers[i])) return true;
    return false;
  }
  if (headers === outHeaders) return 'date' in headers;
  return Object.keys(headers).some(isDate);
}

export const httpSource: Source = {
  name: 'http',
  install(_s: Session) {
    const proto = http.ServerResponse.prototype as any;
    const storeHeader = proto._storeHeader;
    let kOutHeaders: symbol | undefined;
    proto._storeHeader = function _storeHeader(this: any, firstLine: string, headers: Headers) {
      kOutHeaders ??= Object.getOwnPropertySymbols(this).find((k) => k.description === 'kOutHeaders');
      const out = kOutHeaders ? this[kOutHeaders] : undefined;
      if (!this.sendDate || hasDate(headers, out)) return storeHeader.call(this, firstLine, headers);
      // Date.now() is the session's clock: recorded, or served from the recording.
      const date = new original.Date(Date.now()).toUTCString();
      if (!headers) return storeHeader.call(this, firstLine, ['Date', date]);
      if (Array.isArray(headers)) {
        const more = headers.length && Array.isArray(headers[0]) ? [...headers, ['Date', date]] : [...headers, 'Date', date];
        return storeHeader.call(this, firstLine, more);
      }
      if (headers === out) {
        // Node iterates its own header map by identity: add the entry for this call only.
        (headers as Record<string, unknown>).date = ['Date', date];
        try {
          return storeHeader.call(this, firstLine, headers);
        } finally {
          delete (headers as Record<string, unknown>).date;
        }
      }
      return storeHeader.call(this, firstLine, { ...headers, Date: date });
    };
  },
};
