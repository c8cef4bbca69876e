import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';

/**
 * Bytes queued in user space on a socket or response past which a subscription stops writing
 * until it drains; what it would send meanwhile waits in its stream's bounded buffer.
 */
export const WRITE_HIGH_WATER = 64 * 1024;

/** True while `stream` has room under WRITE_HIGH_WATER. */
export function hasRoom(stream: Writable): boolean {
  return stream.writableLength < WRITE_HIGH_WATER;
}

/** Resolves once `stream` is back under WRITE_HIGH_WATER, or closed (nothing more will drain). */
export function drainedBelowHighWater(stream: Writable): Promise<void> {
  if (hasRoom(stream) || stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => {
    const settle = (): void => {
      stream.off('drain', settle).off('close', settle);
      resolve();
    };
    stream.on('drain', settle).on('close', settle);
  });
}

const corked = new WeakSet<Socket>();

/**
 * Corks a socket from its first write in this tick until the tick ends, so everything written to
 * it meanwhile (the events of one published batch, to one subscriber) leaves in one system call
 * rather than one per message.
 */
export function corkForTick(socket: Socket): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(function uncorkAtTickEnd() {
    corked.delete(socket);
    socket.uncork();
  });
}
