import assert from 'node:assert/strict';
import { createServer, type Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { limitConnectionsPerAddress } from './connections-per-address';

/** Opens a connection and resolves with it once the server has either kept it (after a round trip) or closed it. */
function connect(port: number): Promise<{ socket: Socket; kept: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve({ socket, kept: false }) : reject(error),
    );
    socket.once('close', () => resolve({ socket, kept: false }));
    // The server echoes: an echo proves it kept the connection; a close without one, that it refused it.
    socket.once('data', () => resolve({ socket, kept: true }));
    socket.connect(port, '127.0.0.1', () => socket.write('x'));
  });
}

describe('limitConnectionsPerAddress', () => {
  let server: Server;
  let port = 0;
  let refused: () => number = () => 0;

  before(async () => {
    server = createServer((socket) => socket.on('data', (data) => socket.write(data)));
    refused = limitConnectionsPerAddress(server, 3);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps `limit` connections from one address, closes the ones past it at once, and takes one again when one closes', async () => {
    const kept: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const attempt = await connect(port);
      assert.equal(attempt.kept, true, `connection ${i + 1} of the limit`);
      kept.push(attempt.socket);
    }
    for (let i = 0; i < 2; i++) assert.equal((await connect(port)).kept, false, `connection ${4 + i}, past the limit`);
    assert.equal(refused(), 2);
    const closed = new Promise((resolve) => kept[0]?.once('close', resolve));
    kept[0]?.destroy();
    await closed;
    // The server counts the close when it sees it: a new connection is kept once it has (retried until then).
    let again = await connect(port);
    while (!again.kept) again = await connect(port);
    assert.equal(again.kept, true);
    for (const socket of [...kept, again.socket]) socket.destroy();
  });

  it('is off at 0: every connection is kept', async () => {
    const open = createServer((socket) => socket.on('data', (data) => socket.write(data)));
    const none = limitConnectionsPerAddress(open, 0);
    await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve));
    const openPort = (open.address() as { port: number }).port;
    const attempts = await Promise.all(Array.from({ length: 8 }, () => connect(openPort)));
    assert.deepEqual(
      attempts.map((a) => a.kept),
      Array.from({ length: 8 }, () => true),
    );
    assert.equal(none(), 0);
    for (const attempt of attempts) attempt.socket.destroy();
    await new Promise<void>((resolve) => open.close(() => resolve()));
  });
});
