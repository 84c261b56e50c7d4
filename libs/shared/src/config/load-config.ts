import { ConfigError } from '../errors';
import { ConfigOf, EnvSchema, parseEnv } from './env-schema';

/**
 * The one place a service reads `process.env` (house style). On a bad or missing variable it prints a single line
 * that names the variable and what it expects, and exits non-zero before anything else starts.
 */
export function loadConfigOrExit<S extends EnvSchema>(serviceName: string, schema: S): ConfigOf<S> {
  return exitOnConfigError(serviceName, () => parseEnv(schema, process.env));
}

/**
 * `read()`, or, when it throws a ConfigError (a setting that passed its own check but not one across settings), the
 * same single line and exit as loadConfigOrExit.
 */
export function exitOnConfigError<T>(serviceName: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${serviceName}: invalid configuration: ${error.message}\n`);
      process.exit(78); // EX_CONFIG from sysexits.h: configuration error
    }
    throw error;
  }
}
