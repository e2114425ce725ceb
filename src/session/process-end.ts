// rewind's own duties as its process ends (finishing the logs of threads still running, the
// audit's report): run from Node's 'exit' event, once, in the order they were asked for, or
// where the process ends without that event (the program process.execve started has ended:
// sources/process.ts).

const duties: (() => void)[] = [];

/** Runs `duty` as this process ends. The first one asked puts rewind's 'exit' listener in place. */
export function atProcessEnd(duty: () => void): void {
  if (duties.push(duty) === 1) process.on('exit', processEnding);
}

/** The process ends: each duty runs now, and not again. */
export function processEnding(): void {
  for (const duty of duties.splice(0)) duty();
}
