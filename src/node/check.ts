// The start-up check: every Node internal rewind records or replays through, looked up
// before anything is recorded, so that what is missing is in the log's header (and on
// stderr) rather than found later, or never. Checked on Node 20.20.2, 22.23.3 and 24.21.0.
import { bindingNamed, bindings } from './bindings.js';
import { checkFields } from './fields.js';
import { lookup, missingInternals, type MissingInternal } from './internals.js';
import { checkMessagePort, ipcChannel, kSocketTimeout, kTimerAsyncId } from './symbols.js';

/**
 * Looks every internal up (once per process) and returns what is missing. node:http's are
 * looked up when it loads (sources/http.ts), not loaded for this.
 */
export function checkInternals(): readonly MissingInternal[] {
  bindings();
  bindingNamed('fs');
  bindingNamed('udp_wrap');
  kSocketTimeout();
  kTimerAsyncId();
  checkMessagePort();
  checkFields();
  // A forked child: Node made process.channel from the handle ipcChannel reads.
  if ((process as { channel?: unknown }).channel) {
    lookup('process[kChannelHandle]', "a forked child's IPC channel (process.send, 'message')", ipcChannel);
  }
  return missingInternals();
}
