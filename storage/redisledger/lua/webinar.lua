-- webinar.lua: create or replace a webinar and move it in the tag index,
-- atomically. KEYS[1] = pp:{<account>}:account (the other keys share its
-- slot, see apply.lua); ARGV[1] = webinar id, ARGV[2] = its JSON record
-- {"name":..., "tags":[...]}, ARGV[3...] = its tags.
--
-- Returns 0 when the account does not exist, else 1.

local P = string.sub(KEYS[1], 1, -8)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local w = ARGV[1]
local old = redis.call('HGET', P .. 'webinars', w)
if old and old ~= '' then
  local tags = cjson.decode(old).tags
  if type(tags) == 'table' then
    for _, t in ipairs(tags) do
      redis.call('ZREM', P .. 't:' .. redis.sha1hex(t), w)
    end
  end
end
for i = 3, #ARGV do
  redis.call('ZADD', P .. 't:' .. redis.sha1hex(ARGV[i]), 0, w)
end
redis.call('HSET', P .. 'webinars', w, ARGV[2])
return 1
