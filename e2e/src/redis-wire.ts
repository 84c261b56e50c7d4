import { connect } from 'node:net';

/**
 * Sends commands to Redis over one fresh connection, as a bare client that knows nothing but the protocol (no
 * credentials unless a command is AUTH), and returns each reply's first line: `+OK`, `+PONG`, `-NOAUTH …`. Only for
 * commands whose replies are one line.
 */
export function redisReplies(port: number, commands: string[][], timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(received.split('\r\n').slice(0, commands.length));
    };
    const timer = setTimeout(
      () => settle(new Error(`Redis on port ${port} sent ${JSON.stringify(received)} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', settle);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.split('\r\n').length > commands.length) settle();
    });
    socket.write(commands.map(encodeCommand).join(''));
  });
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}
