// A forked child's IPC channel. Node opens it from NODE_CHANNEL_FD during startup and then
// deletes the variables that said so; the header records it, so that a replay of the child
// gets a channel too (Node builds process.send and friends from it).

/** A forked child's IPC channel: the handle Node opened from NODE_CHANNEL_FD, and how it encodes. */
export function ipcChannel(): { handle: unknown; serialization: 'json' | 'advanced' } | null {
  const key = Object.getOwnPropertySymbols(process).find((k) => k.description === 'kChannelHandle');
  const handle = key && (process as unknown as Record<symbol, object | null>)[key];
  if (!handle) return null;
  const json = Object.getOwnPropertySymbols(handle).some((k) => k.description === 'kJSONBuffer');
  return { handle, serialization: json ? 'json' : 'advanced' };
}
