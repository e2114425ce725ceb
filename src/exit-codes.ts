// Exit statuses of the rewind CLI and of a replayed process (sysexits.h where one fits).
export const EXIT = {
  /** Bad command line. */
  USAGE: 64,
  /** The recording cannot be used: missing, empty, corrupt, from a newer rewind, another program. */
  BAD_TRACE: 65,
  /** The replay stopped following the recording. */
  DIVERGENCE: 70,
  /** The recording names code to run at start-up and is not trusted (`--trust` after review). */
  NOT_TRUSTED: 77,
  /** rewind cannot create its output (the recording directory or a file in it). */
  CANT_CREATE: 73,
  /** rewind's own I/O failed (disk full, I/O error) writing the recording. */
  IO_ERROR: 74,
  /** The command to record does not exist. */
  NOT_FOUND: 127,
} as const;

/** An error the user can act on: printed as is, then rewind exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
