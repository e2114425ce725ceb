// http: the bytes an HTTP server writes must be the same in both runs, and Node's `Date:`
// response header is the one thing in them taken from a clock rewind cannot reach (a
// private copy of Date, cached for a second on a private timer). Where Node added it,
// rewind swaps its value, in place, for the time the log holds for the turn in progress —
// no clock reading to log per response — so the header block keeps Node's own layout.
import { checkHttpFields, responseHead, serverResponse, whenLoaded } from '../node/fields.js';
import { missingInternals } from '../node/internals.js';
import { kOutHeaders as outHeaders } from '../node/symbols.js';
import type { Session, Source } from '../session/session.js';
import { original } from '../node/originals.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Headers = Record<string, unknown> | unknown[] | null | undefined;

/** toUTCString()'s length, always: "Wed, 25 Nov 2026 22:10:05 GMT". */
const DATE_LENGTH = 29;
/**
 * How far from the end of a response head Node's Date line starts at most, but for unusual
 * heads: itself (37), then Connection, Keep-Alive (with a max), Content-Length or
 * Transfer-Encoding, and the blank line.
 */
const DATE_NEAR_END = 192;

const isDate = (k: unknown) => typeof k === 'string' && k.length === 4 && k.toLowerCase() === 'date';

/** Whether a header list (any of _storeHeader's forms) names a Date header. */
function hasDate(headers: Headers, outHeaders: unknown): boolean {
  if (!headers) return false;
  if (Array.isArray(headers)) {
    if (headers.length && Array.isArray(headers[0])) {
      for (const e of headers) if (isDate((e as unknown[])[0])) return true;
      return false;
    }
    for (let i = 0; i < headers.length; i += 2) if (isDate(headers[i])) return true;
    return false;
  }
  if (headers === outHeaders) return 'date' in headers;
  for (const k in headers) if (isDate(k)) return true;
  return false;
}

/** The header's text for the time of this turn (as logged); formatted once a second, as Node does. */
let cachedSecond = NaN;
let cachedText = '';
function utcNow(s: Session): string {
  const ms = s.turnWallTime();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedText = new original.Date(ms).toUTCString();
  }
  return cachedText;
}

export const httpSource: Source = {
  name: 'http',
  install(s: Session) {
    // When node:http loads its server (never, for most programs: not at start-up).
    whenLoaded('_http_server', () => patchDate(s));
  },
};

function patchDate(s: Session): void {
  const before = missingInternals().length;
  const found = checkHttpFields();
  const kOutHeaders = outHeaders();
  // The start-up check did not look these up (node:http was not loaded): said now, in the log
  // too. Without them responses keep Node's Date, which a replay's write checks tell apart.
  for (const m of missingInternals().slice(before)) {
    s.unsupported(m.affects, `Node does not let rewind reach ${m.name}: ${m.why}`);
  }
  if (!found) return;
  const proto = serverResponse();
  const storeHeader = proto._storeHeader;
  proto._storeHeader = function _storeHeader(this: any, firstLine: string, headers: Headers) {
    const result = storeHeader.call(this, firstLine, headers);
    if (this.sendDate) {
      // Node added "Date: <29 characters>\r\n" after the program's headers (unless the
      // program set one): the only line that starts so (no header value holds a line
      // break), followed only by the few lines Node adds itself, so it is looked for near
      // the end first. Swap in the session's.
      const h = responseHead.get(this);
      let at = h.indexOf('\r\nDate: ', h.length - DATE_NEAR_END);
      if (at < 0) at = h.indexOf('\r\nDate: ');
      // Recording, Node's clock and the turn's time mostly name the same second: nothing
      // to swap, and no need to ask whether that line is Node's.
      const date = utcNow(s);
      if (at >= 0 && !h.startsWith(date, at + 8) && !hasDate(headers, kOutHeaders ? this[kOutHeaders] : undefined)) {
        responseHead.set(this, h.slice(0, at + 8) + date + h.slice(at + 8 + DATE_LENGTH));
      }
    }
    return result;
  };
}
