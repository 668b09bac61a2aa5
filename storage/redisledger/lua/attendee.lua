-- attendee.lua: everything of one attendee in one consistent read.
-- KEYS[1] = pp:{<account>}:account (the other keys share its slot, see
-- apply.lua); ARGV[1] = the attendee id's SHA-1 hex.
--
-- Returns {} when the account or the attendee does not exist, else
-- {record, order...}: the attendee hash and the hash of each order in its
-- list, as flat field/value lists.

local P = string.sub(KEYS[1], 1, -8)
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local rec = redis.call('HGETALL', P .. 'a:' .. ARGV[1])
if #rec == 0 then return {} end
local out = {rec}
for i = 1, #rec, 2 do
  -- o:<order key hex>:<first seen>: the live order while it is the one
  -- first seen then, else the copy archived when its window expired.
  local kh, fs = string.match(rec[i], '^o:(%x+):(.*)$')
  if kh then
    local live = P .. 'o:' .. kh
    if redis.call('HGET', live, 'fs') == fs then
      out[#out + 1] = redis.call('HGETALL', live)
    else
      out[#out + 1] = redis.call('HGETALL', P .. 'oa:' .. kh .. ':' .. fs)
    end
  end
end
return out
