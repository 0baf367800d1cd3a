import type { Socket } from 'node:net';

/**
 * The raw TCP sockets under the TLS ones. A TLS socket cannot send a TCP reset itself
 * (`resetAndDestroy` throws ERR_INVALID_HANDLE_TYPE on it), so resets go to the socket beneath.
 */
export class SocketRegistry {
  private readonly sockets = new Map<string, Socket>();

  track(raw: Socket): void {
    const key = endpointKey(raw);

    this.sockets.set(key, raw);
    raw.once('close', () => {
      if (this.sockets.get(key) === raw) this.sockets.delete(key);
    });
  }

  reset(socket: Socket): void {
    const raw = this.sockets.get(endpointKey(socket));

    if (raw) raw.resetAndDestroy();
    else socket.destroy();
  }

  destroyAll(): void {
    for (const raw of this.sockets.values()) raw.destroy();
    this.sockets.clear();
  }
}

function endpointKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}
