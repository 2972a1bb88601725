/**
 * A child process of the benchmark with its stdout and stderr appended to a log file,
 * and a `stop` that sends SIGTERM, then SIGKILL after 20 s, and waits for it to end.
 *
 * @example
 * const { child, stop } = spawnLogged("victoria-metrics", ["-httpListenAddr=127.0.0.1:8428"], {}, "vm.log");
 */
/** Starts a process with its output going to `logFile`. */
export function spawnLogged(
  command: string,
  commandArgs: string[],
  options: Deno.CommandOptions,
  logFile: string,
) {
  const child = new Deno.Command(command, { ...options, args: commandArgs, stdout: "piped", stderr: "piped" })
    .spawn();
  const file = Deno.openSync(logFile, { write: true, create: true, append: true });
  const done = Promise.all(
    [child.stdout, child.stderr].map((stream) =>
      stream.pipeTo(new WritableStream({ write: (chunk) => void file.writeSync(chunk) }))
    ),
  ).finally(() => file.close());
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 20_000);
    await child.status;
    clearTimeout(timer);
    await done.catch(() => {});
  };
  return { child, stop };
}
