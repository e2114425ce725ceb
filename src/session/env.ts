/** Environment variables through which the CLI steers the preload in each process. */
export const ENV = {
  MODE: 'REWIND_MODE', // record (default) | replay | off
  DIR: 'REWIND_DIR', // record: the recording directory every process writes its log into
  TRACE: 'REWIND_TRACE', // replay: the log to replay
  STATUS: 'REWIND_RECORDED_STATUS', // replay: how the recorded run ended ("code:N" | "signal:NAME")
  SUMMARY: 'REWIND_SUMMARY', // replay: "1" prints a summary line at the end
  AUDIT: 'REWIND_AUDIT', // record: "1" reports callbacks rewind did not record (rewind record --audit)
} as const;
