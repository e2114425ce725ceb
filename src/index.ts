// rewind's programmatic API: read recordings, list their events.
export { TraceReader, TraceError, type TraceEvent, type TraceFile } from './trace/reader.js';
export { describeEvent, describeEnd, formatTime } from './trace/describe.js';
export { Tag, TAGS, FORMAT_VERSION, type TraceHeader, type EndInfo, type FailureInfo } from './trace/format.js';
export { EXIT } from './exit-codes.js';
export { REWIND_VERSION } from './version.js';
export { testFailed, rewindMode } from './testing.js';
