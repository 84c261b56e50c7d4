import { Matches } from 'class-validator';
import { SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from '../circuit-policy';

export class ListenDto {
  @Matches(SERVICE_NAME_PATTERN, { message: SERVICE_NAME_RULE })
  service!: string;
}
