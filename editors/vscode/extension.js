// The rewind debug type: VS Code starts `rewind dap` (stdio) for it, and "rewind: Go to
// Event…" lists the recording's events (rewind/events) and re-executes to the one picked.
const vscode = require('vscode');

function activate(context) {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('rewind', {
      createDebugAdapterDescriptor(session) {
        const [command, ...args] = vscode.workspace.getConfiguration('rewind').get('command');
        const cwd = session.workspaceFolder?.uri.fsPath;
        return new vscode.DebugAdapterExecutable(command, [...args, 'dap'], cwd ? { cwd } : {});
      },
    }),
    vscode.commands.registerCommand('rewind.gotoEvent', async () => {
      const session = vscode.debug.activeDebugSession;
      if (!session || session.type !== 'rewind') return;
      const { events, current } = await session.customRequest('rewind/events');
      const items = events.map((e) => ({
        label: `${e.kind === 'failure' ? '$(error) ' : ''}#${e.n} ${e.kind}`,
        description: e.call,
        detail: [e.detail, e.site].filter(Boolean).join('  '),
        n: e.n,
        picked: e.n === current,
      }));
      const pick = await vscode.window.showQuickPick(items, {
        placeHolder: 'Go to event… (re-executes the replay to it)',
        matchOnDescription: true,
        matchOnDetail: true,
      });
      if (pick) await session.customRequest('rewind/goto', { event: pick.n });
    }),
  );
}

module.exports = { activate, deactivate() {} };
