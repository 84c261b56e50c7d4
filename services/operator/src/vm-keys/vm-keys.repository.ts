import { Inject, Injectable } from '@nestjs/common';
import { PORT_KEYS, REDIS_CLIENT, SWITCH_CONSUMER_GROUP, VM_KEYS, vmAclUser } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/** Every key of one VM, all under its hash tag `{id}` (one slot, so one script can touch them all). */
export function vmKeyNames(vmId: string): [tx: string, rx: string, inbox: string] {
  return [PORT_KEYS.tx(vmId), PORT_KEYS.rx(vmId), VM_KEYS.inbox(vmId)];
}

/**
 * Creates whichever of the VM's streams is missing (or is not a stream), each empty, and the switch's consumer group
 * on tx, exactly as the switch's own idempotent `XGROUP CREATE tx switch 0 MKSTREAM` would (port-directory.ts):
 * reading from the start, so frames sent before the switch saw the port count. Keys that exist are left as they are.
 * KEYS: tx, rx, inbox. ARGV: the group.
 */
const CREATE_SCRIPT = `
for i = 1, 3 do
  local kind = redis.call('TYPE', KEYS[i])['ok']
  if kind ~= 'stream' then
    if kind ~= 'none' then redis.call('DEL', KEYS[i]) end
    redis.call('XADD', KEYS[i], '0-1', 'init', '1')
    redis.call('XDEL', KEYS[i], '0-1')
  end
end
local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0')
if type(created) == 'table' and created['err'] and string.sub(created['err'], 1, 9) ~= 'BUSYGROUP' then
  return redis.error_reply(created['err'])
end
return 1
`;

/** All Redis I/O of a VM's own keys: its vNIC port streams and its inbox. */
@Injectable()
export class VmKeysRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async create(vmId: string): Promise<void> {
    await this.redis.eval(CREATE_SCRIPT, 3, ...vmKeyNames(vmId), SWITCH_CONSUMER_GROUP);
  }

  async delete(vmId: string): Promise<void> {
    await this.redis.del(...vmKeyNames(vmId));
  }

  /**
   * Ends every connection of the VM's ACL user by deleting the user (the registry's next ACL sync writes it again).
   * Rewriting a user's password does not close the connections made with the old one, so without this a previous
   * holder still connected would keep its Redis access under the new holder's rights.
   */
  async disconnect(vmId: string): Promise<void> {
    await this.redis.call('ACL', 'DELUSER', vmAclUser(vmId));
  }
}
