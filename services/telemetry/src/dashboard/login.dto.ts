import { IsString, Length } from 'class-validator';

export class LoginDto {
  /** The lab's dashboard token (`.lab/<profile>/dashboard-token`). */
  @IsString({ message: 'must be the dashboard token, a string' })
  @Length(1, 256, { message: 'must be the dashboard token: 1-256 characters' })
  token!: string;
}
