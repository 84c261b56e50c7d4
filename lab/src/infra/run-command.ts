import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

import { CommandFailedError } from './infra.errors';

/** The full path of an executable on PATH, or undefined; the same lookup the shell does, without spawning one. */
export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return undefined;
}

export interface RunCommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** What the command does, for the error message: "download Kafka with Maven". */
  purpose: string;
  /** Strings (passwords in the arguments) replaced by *** in the error message. */
  secrets?: readonly string[];
  /** Ends the command (SIGTERM) when aborted: its promise then rejects as a command killed by that signal. */
  signal?: AbortSignal;
}

// Enough of a failed build's output to show its error without flooding the terminal.
const MAX_KEPT_OUTPUT = 8 * 1024;

/**
 * Runs a command to completion and resolves with its combined output. On a non-zero exit it rejects with the
 * end of that output, which is where compilers and package managers put the reason.
 */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-MAX_KEPT_OUTPUT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error: NodeJS.ErrnoException) => {
      // An abort is reported by 'close' (killed by SIGTERM), as any other signal.
      if (error.name === 'AbortError') return;
      const reason = error.code === 'ENOENT' ? `${command} is not on PATH` : error.message;
      reject(new CommandFailedError(`Could not ${options.purpose}: ${reason}.`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve(output);
        return;
      }
      const status = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const redact = (text: string): string =>
        (options.secrets ?? []).reduce((shown, secret) => shown.split(secret).join('***'), text);
      const shown = redact([command, ...args].join(' '));
      const message = `Could not ${options.purpose}: \`${shown}\` ${status}.\n${redact(output.trimEnd())}`;
      reject(new CommandFailedError(message));
    });
  });
}
