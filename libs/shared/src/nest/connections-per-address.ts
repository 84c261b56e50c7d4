import type { Server } from 'node:net';

/**
 * Closes, as soon as it is accepted, every connection past `limit` open at once from one address. A service shared
 * by every tenant runs one event loop: one client keeping thousands of connections busy queued every other tenant's
 * calls behind its own (measured on the operator: one VM token at 5 000 concurrent requests, another VM's heartbeat
 * p99 3.3 s, connections reset). A 429 per request does not help, as parsing each request is most of its cost (the
 * same flood answered 429 past 64 in flight per token: p99 4.4 s); a connection refused before any byte is read
 * costs an accept and a close. HTTP/1.1 answers one request per connection at a time, so this bounds one address's
 * requests in flight. Useful only where each client has its own address: in Docker mode each VM container does; in
 * local mode everything is 127.0.0.1, so it stays off (0). Returns the count of connections closed so far.
 */
export function limitConnectionsPerAddress(server: Server, limit: number): () => number {
  let refused = 0;
  if (limit <= 0) return () => refused;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const count = open.get(address) ?? 0;
    if (count >= limit) {
      refused++;
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
  return () => refused;
}
