import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { parseConstantOrAddress } from '@tenantlab/shared';
import { PROGRAM_NAME_PATTERN, PROGRAM_NAME_RULE } from '../program-names';

/** Most key fields a table matches on; more is never a valid key, so it stops at the edge. */
export const MAX_KEY_FIELDS = 16;

const KEY_CONSTANT_RULE =
  'must be an unsigned integer (a number, a decimal string or a 0x hex string, up to 128 bits), ' +
  'or for an address field an address as people write it: "10.0.0.1" (ipv4.src, ipv4.dst), ' +
  '"02:00:00:00:00:01" (eth.src, eth.dst)';

/** A key match's value or mask: a constant or an address (the switch checks the key's field is one of its kind). */
function IsKeyConstant(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isKeyConstant',
      validator: {
        validate: (value: unknown) => parseConstantOrAddress(value) !== undefined,
        defaultMessage: () => KEY_CONSTANT_RULE,
      },
    },
    options,
  );
}

/** One key field's match, in the order of the table's key; the switch checks it against the table. */
export class KeyMatchDto {
  @IsKeyConstant()
  value!: number | string;

  /** Ternary keys only. */
  @IsOptional()
  @IsKeyConstant()
  mask?: number | string;

  /** LPM keys only. */
  @IsOptional()
  @IsInt({ message: 'must be a whole number of bits' })
  @Min(0, { message: 'must be from 0 to 128' })
  @Max(128, { message: 'must be from 0 to 128' })
  prefixLength?: number;
}

/** Names an entry by its match: what DELETE /program/tables/:table/entries takes. */
export class TableKeyDto {
  @IsArray({ message: `must be an array of 1-${MAX_KEY_FIELDS} key matches { value, mask?, prefixLength? }` })
  @ArrayMinSize(1, { message: `must have 1-${MAX_KEY_FIELDS} key matches` })
  @ArrayMaxSize(MAX_KEY_FIELDS, { message: `must have 1-${MAX_KEY_FIELDS} key matches` })
  @ValidateNested({ each: true, message: 'each must be an object { value, mask?, prefixLength? }' })
  @Type(() => KeyMatchDto)
  key!: KeyMatchDto[];
}

export class TableEntryDto extends TableKeyDto {
  @Matches(PROGRAM_NAME_PATTERN, { message: `must be an action name: ${PROGRAM_NAME_RULE}` })
  action!: string;

  /** One constant per param of the action, by name; the switch checks them against the action. */
  @IsOptional()
  @IsObject({ message: 'must be an object { <param>: <constant> }' })
  args?: Record<string, number | string>;

  /** Tables with a ternary key only; higher wins. */
  @IsOptional()
  @IsInt({ message: 'must be a whole number, 0 or more' })
  @Min(0, { message: 'must be a whole number, 0 or more' })
  priority?: number;
}
