-- attendee.lua: everything of one attendee in one consistent read.
-- KEYS[1] = pp:{<account>}:account (the other keys share its slot, see
-- apply.lua); ARGV[1] = attendee id.
--
-- Returns {} when the account or the attendee does not exist, else
-- {record, webinars, order...}: the attendee hash and each order hash as
-- flat field/value lists, orders by first seen.

local P = string.sub(KEYS[1], 1, -8)
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local ha = redis.sha1hex(ARGV[1])
local rec = redis.call('HGETALL', P .. 'a:' .. ha)
if #rec == 0 then return {} end
local out = {rec, redis.call('SMEMBERS', P .. 'aw:' .. ha)}
for _, m in ipairs(redis.call('ZRANGE', P .. 'ao:' .. ha, 0, -1)) do
  -- m = <order key hex>:<first seen>: the live order while it is the one
  -- first seen then, else the copy archived when its window expired.
  local kh, fs = string.match(m, '^(%x+):(.*)$')
  local live = P .. 'o:' .. kh
  local o
  if redis.call('HGET', live, 'fs') == fs then
    o = redis.call('HGETALL', live)
  else
    o = redis.call('HGETALL', P .. 'oa:' .. m)
  end
  out[#out + 1] = o
end
return out
