import { ConfigError } from '../errors';
import { ConfigOf, EnvSchema, parseEnv } from './env-schema';

/**
 * The one place a service reads `process.env` (house style). On a bad or missing variable it prints a single line
 * that names the variable and what it expects, and exits non-zero before anything else starts.
 */
export function loadConfigOrExit<S extends EnvSchema>(serviceName: string, schema: S): ConfigOf<S> {
  try {
    return parseEnv(schema, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${serviceName}: invalid configuration: ${error.message}\n`);
      process.exit(78); // EX_CONFIG from sysexits.h: configuration error
    }
    throw error;
  }
}
