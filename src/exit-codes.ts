// Exit statuses of the rewind CLI and of a replayed process (sysexits.h where one fits).
export const EXIT = {
  /** Bad command line. */
  USAGE: 64,
  /** The recording cannot be used: missing, empty, corrupt, from a newer rewind, another program. */
  BAD_TRACE: 65,
  /** The replay stopped following the recording. */
  DIVERGENCE: 70,
  /** The command to record does not exist. */
  NOT_FOUND: 127,
} as const;
