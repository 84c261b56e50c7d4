import { createHash } from 'node:crypto';
import { MAX_FRAME_BYTES, MAX_FRAMES_PER_ENTRY, PORT_ENTRY_FIELDS, PORT_ENTRY_META_BYTES } from '@tenantlab/shared';

/**
 * The largest tx entry the switch takes into its memory: a frame of MAX_FRAME_BYTES plus its field names and the
 * sender's trace context (`otel.traceparent`, `otel.tracestate`: W3C caps tracestate at 512 bytes).
 */
export const MAX_TX_ENTRY_BYTES = MAX_FRAME_BYTES + PORT_ENTRY_META_BYTES;

/**
 * Entries one read deletes at most to bring a stream under its memory bound, so one call's work stays bounded (a
 * stream of thousands of large entries just over it is brought under in a few rounds).
 */
const MEMORY_TRIM_BATCHES = 16;
const MEMORY_TRIM_BATCH = 64;

/**
 * One port's read, run inside Redis (KEYS[1] = the port's tx stream; ARGV = group, consumer, count, start id
 * ('0' for this consumer's pending entries, '>' for new ones), MAX_TX_ENTRY_BYTES, the tx bound in entries, the tx
 * bound in bytes of Redis memory, '1' to check the memory bound in this call).
 *
 * Why a script and not XREADGROUP: XREADGROUP hands the switch every entry whole, whatever its size, and a VM can
 * write entries as large as Redis's bulk-length limit (seen: the switch at 900 MiB). The script looks at each entry
 * where it already is, in Redis, and only entries up to MAX_TX_ENTRY_BYTES cross the wire; bigger ones are
 * acknowledged and deleted there, and only their number and size come back to be counted. The copy Lua makes of an
 * entry lives for the script's run, inside Redis, bounded by Redis's own bulk-length limit: never in the switch.
 *
 * The same call enforces the tx bound: a VM's vNIC stops at PORT_CAPACITY_FRAMES, but a VM writing straight to its
 * stream need not. Entries beyond the bound are the newest ones the switch has not yet been handed (after the
 * group's last-delivered id, so none is both dropped and delivered); they are deleted unread and counted. It runs on
 * every port every round, even one whose tenant gets no frames this round (count 0), so a stream never stays above
 * its bound for longer than a round. The bound is in entries (PORT_CAPACITY_FRAMES) and in memory
 * (PORT_TX_MEMORY_BYTES, as MEMORY USAGE counts it: a walk of the stream's nodes, no copy): entries of a jumbo frame
 * each would otherwise let one VM hold 100 MiB. Over the memory bound, the newest entries not yet handed out go, as
 * many as their bytes say are needed, up to MEMORY_TRIM_BATCHES × MEMORY_TRIM_BATCH a call. The walk costs a node per
 * large entry (0.1 ms for 4 000 entries of 10 KB), so the caller asks for it only every few rounds per port, and
 * every round while a trim has entries left to delete.
 *
 * Errors stay in the reply of this one port: a key of another type is reported ('fault', its type), a stream without
 * the switch's group as 'nogroup', so one port's state never fails another port's read.
 *
 * Reply: {'ok', length after the read, frames of the over-bound entries (a packed entry's each, counted as the switch
 * counts them: at most MAX_FRAMES_PER_ENTRY + 1 an entry), their bytes, oversized entries, their bytes,
 * vanished entries, 1 when the stream is still over its memory bound with entries left to trim (0 otherwise, or
 * unchecked), id1, fields1, id2, fields2, ...}. Vanished: pending entries deleted since they were read (only
 * their ids are left), acknowledged here so they never come back.
 */
export const TX_READ_SCRIPT = `
local tx = KEYS[1]
local group, consumer, count, start = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local maxBytes, bound, memoryBound, checkMemory = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] == '1'
local kind = redis.call('TYPE', tx)['ok']
if kind == 'none' then return {'nogroup'} end
if kind ~= 'stream' then return {'fault', kind} end
local function entryBytes(fields)
  local n = 0
  for i = 1, #fields do n = n + #fields[i] end
  return n
end
-- The frames an entry carries, as the switch counts them (tx-entry.ts, unpackPortFrames): a packed entry's records,
-- one more for a remainder that is not a whole record, at least one, and at most MAX_FRAMES_PER_ENTRY + 1 (the walk
-- stops there: an entry this script drops may be as large as Redis's bulk limit, millions of 3-byte records, and one
-- run must not walk them all while every tenant's Redis waits). An entry with more than one frame field (f or m) is
-- one frame, refused whole by the switch; any other entry is one frame.
local function framesIn(fields)
  local payload, frameFields = nil, 0
  for i = 1, #fields - 1, 2 do
    local name = fields[i]
    if name == '${PORT_ENTRY_FIELDS.frames}' then
      payload, frameFields = fields[i + 1], frameFields + 1
    elseif name == '${PORT_ENTRY_FIELDS.frame}' then
      frameFields = frameFields + 1
    end
  end
  if frameFields ~= 1 or not payload then return 1 end
  local size, at, n = #payload, 1, 0
  while at <= size do
    n = n + 1
    if n > ${MAX_FRAMES_PER_ENTRY} or at + 2 > size then break end
    at = at + 3 + string.byte(payload, at + 2) + string.byte(payload, at) * 256 + string.byte(payload, at + 1)
  end
  return math.max(n, 1)
end
local last
for _, g in ipairs(redis.call('XINFO', 'GROUPS', tx)) do
  local name, id
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then id = g[i + 1] end
  end
  if name == group then last = id end
end
if not last then return {'nogroup'} end
local overFrames, overBytes = 0, 0
local excess = redis.call('XLEN', tx) - bound
while excess > 0 do
  local newest = redis.call('XREVRANGE', tx, '+', '(' .. last, 'COUNT', math.min(excess, 64))
  if #newest == 0 then break end
  local ids = {}
  for i, entry in ipairs(newest) do
    ids[i] = entry[1]
    overBytes = overBytes + entryBytes(entry[2])
    overFrames = overFrames + framesIn(entry[2])
  end
  redis.call('XDEL', tx, unpack(ids))
  excess = excess - #ids
end
local result = {'ok', 0, overFrames, overBytes, 0, 0, 0, 0}
local oversized, oversizedBytes, vanished = 0, 0, 0
if count > 0 then
  local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', tx, start)
  if reply then
    for _, entry in ipairs(reply[1][2]) do
      local id, fields = entry[1], entry[2]
      if not fields then
        redis.call('XACK', tx, group, id)
        vanished = vanished + 1
      else
        local bytes = entryBytes(fields)
        if bytes > maxBytes then
          redis.call('XACK', tx, group, id)
          redis.call('XDEL', tx, id)
          oversized = oversized + 1
          oversizedBytes = oversizedBytes + bytes
        else
          result[#result + 1] = id
          result[#result + 1] = fields
        end
      end
      if start == '>' then last = id end
    end
  end
end
-- After the read, so the pending list it just grew is within the bound too.
local used = checkMemory and redis.call('MEMORY', 'USAGE', tx, 'SAMPLES', '0')
local trimmed = 0
for _ = 1, ${MEMORY_TRIM_BATCHES} do
  if not used or used <= memoryBound then break end
  local newest = redis.call('XREVRANGE', tx, '+', '(' .. last, 'COUNT', ${MEMORY_TRIM_BATCH})
  if #newest == 0 then break end
  -- An entry's fields are a lower bound on what deleting it frees: enough of them to cover the excess, then look again.
  local ids, freed = {}, 0
  for i, entry in ipairs(newest) do
    local bytes = entryBytes(entry[2])
    ids[i] = entry[1]
    result[4] = result[4] + bytes
    result[3] = result[3] + framesIn(entry[2])
    freed = freed + bytes
    if freed >= used - memoryBound then break end
  end
  redis.call('XDEL', tx, unpack(ids))
  trimmed = trimmed + 1
  used = redis.call('MEMORY', 'USAGE', tx, 'SAMPLES', '0')
end
result[2] = redis.call('XLEN', tx)
result[5], result[6], result[7] = oversized, oversizedBytes, vanished
-- Still over with entries left to delete (this call's batches ran out): go on next round. Over with none left (what is
-- over is entries handed out and not yet acknowledged, waiting for CPU say), the usual checks do.
if used and used > memoryBound and trimmed == ${MEMORY_TRIM_BATCHES} then result[8] = 1 end
return result
`;

export const TX_READ_SHA = createHash('sha1').update(TX_READ_SCRIPT).digest('hex');
