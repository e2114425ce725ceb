// Defaults the command line shows in its help, apart from the modules that use them: those
// are imported only when their command runs (cli/index.ts).

/** How many runs `record --until-fail` makes at most. */
export const DEFAULT_RUNS = 100;
