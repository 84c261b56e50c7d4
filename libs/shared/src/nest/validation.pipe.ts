import { ValidationError as ClassValidatorError, ValidationPipe } from '@nestjs/common';
import { ValidationError } from '../errors';

/** Flattens class-validator's nested errors into `path: problem` lines. */
export function describeValidationErrors(errors: ClassValidatorError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
    return [...own, ...describeValidationErrors(error.children ?? [], path)];
  });
}

/** Validates every DTO at the edge; unknown properties are refused rather than silently dropped. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const details = describeValidationErrors(errors);
      return new ValidationError(`request is invalid: ${details.join('; ')}`, details);
    },
  });
}
