// `rewind dap`: a Debug Adapter Protocol server for editors (VS Code, nvim-dap, Emacs
// dap-mode, Zed...), over stdio or, with --port, over TCP (one session per connection).
import net from 'node:net';
import { RewindDebugSession } from '../dap/session.js';

export interface DapOptions {
  port?: string;
}

export async function dap(opts: DapOptions): Promise<void> {
  // An editor stops its adapter with a signal: exit normally, so that replays still running end too.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => process.exit(0));
  if (opts.port === undefined) {
    const session = new RewindDebugSession();
    session.start(process.stdin, process.stdout);
    return;
  }
  const server = net.createServer((socket) => {
    const session = new RewindDebugSession();
    session.setRunAsServer(true);
    session.start(socket, socket);
  });
  await new Promise<void>((resolve) => server.listen(Number(opts.port), '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  process.stderr.write(`rewind: debug adapter listening on 127.0.0.1:${port}\n`);
}
