import { IsObject } from 'class-validator';

export class SubmitProgramDto {
  /**
   * The program document, opaque here: the allocator validates it against the shared schema and the tenant's quota
   * (400 with path-qualified details), so the rules live in one place.
   */
  @IsObject({ message: 'must be a program document (a JSON object); see programs/ for examples' })
  program!: Record<string, unknown>;
}
