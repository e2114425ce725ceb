// The start-up check: every Node internal rewind records or replays through, looked up
// before anything is recorded, so that what is missing is in the log's header (and on
// stderr) rather than found later, or never. Checked on Node 20.20.2, 22.23.3 and 24.21.0.
import { bindingNamed, bindings } from './bindings.js';
import { checkFields, checkSocketFields, nodeLoaded } from './fields.js';
import { lookup, missingInternals, type MissingInternal } from './internals.js';
import { checkMessagePort, ipcChannel, kSocketTimeout, kTimerAsyncId } from './symbols.js';

/**
 * Looks every internal up (once per process) and returns what is missing. node:http's are
 * looked up when it loads (sources/http.ts), node:net's and MessagePort's too unless they are
 * loaded now (checkNet, checkMessagePort):
 * neither is loaded for this, which the program would see (process.moduleLoadList).
 */
export function checkInternals(options: { chaos: boolean }): readonly MissingInternal[] {
  bindings();
  bindingNamed('fs');
  bindingNamed('udp_wrap');
  // node:net's once it is loaded (see checkNet): a program with a pipe or terminal for stdout
  // loads it as it first writes there; one that never writes need not load it at all.
  if (nodeLoaded('net')) checkNet();
  // Only chaos mode clears held timers by id: probing for it means arming and clearing a
  // real timer (0.3 ms of every start, cold).
  if (options.chaos) kTimerAsyncId();
  // MessagePort's once worker_threads is loaded (see checkMessagePort): it loads node:stream.
  if (nodeLoaded('worker_threads')) checkMessagePort();
  checkFields();
  // A forked child: Node made process.channel from the handle ipcChannel reads.
  if ((process as { channel?: unknown }).channel) {
    lookup('process[kChannelHandle]', "a forked child's IPC channel (process.send, 'message')", ipcChannel);
  }
  return missingInternals();
}

/**
 * node:net's internals (a probe socket's timeout symbol, Socket.prototype._onTimeout): at
 * start-up when node:net is loaded then, else as it loads (session/start.ts), where what is
 * missing is reported like what node:http's check finds (sources/http.ts). Returns what it
 * found missing.
 */
export function checkNet(): readonly MissingInternal[] {
  const before = missingInternals().length;
  kSocketTimeout();
  checkSocketFields();
  return missingInternals().slice(before);
}
