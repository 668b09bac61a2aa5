-- erase.lua: erase an attendee (GDPR; docs/ledger.md "Erasure"),
-- atomically. KEYS[1] = pp:{<account>}:account (the other keys share its
-- slot, see apply.lua). ARGV[1] = the attendee id, ARGV[2] = its SHA-1
-- hex, ARGV[3] = the erasure time (ns), ARGV[4...] = cookies whose link to
-- it the caller found (unlinked here if they still are).
--
-- Returns {} when the account does not exist, else {found (1/0), orders,
-- registrations, cookies, clicks stripped, id of each click it converted...}.

local P = string.sub(KEYS[1], 1, -8)
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local att, attHex, at = ARGV[1], ARGV[2], ARGV[3]
local ak = P .. 'a:' .. attHex

-- gt compares non-negative decimal strings exactly.
local function gt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end

-- less subtracts a decimal amount from a hash field, dropping a total
-- back at 0, as apply.lua's incr does.
local function less(key, field, amount)
  if amount == '0' then return end
  if redis.call('HINCRBY', key, field, '-' .. amount) == 0 then
    redis.call('HDEL', key, field)
  end
end

local function ws(w) return P .. 'ws:' .. redis.sha1hex(w) end

local rec = redis.call('HGETALL', ak)
local orders, regs, cookies = 0, 0, 0
for i = 1, #rec, 2 do
  local f = rec[i]
  local okh, fs = string.match(f, '^o:(%x+):(%-?%d+)$')
  if okh then
    -- An order in its list: the current one of its key if it is still
    -- this attendee's from that first sighting, else its replaced copy.
    local ko, ka = P .. 'o:' .. okh, P .. 'oa:' .. okh .. ':' .. fs
    local o = redis.call('HMGET', ko, 'amt', 'cur', 'w', 'att', 'fs')
    local key = ko
    if not (o[1] and o[4] == att and o[5] == fs) then
      o, key = redis.call('HMGET', ka, 'amt', 'cur', 'w'), ka
    end
    if o[1] then
      -- Undo what it counted: a sale and its amount in each webinar.
      for _, w in ipairs(cjson.decode(o[3])) do
        redis.call('HINCRBY', ws(w), 'sales', -1)
        less(ws(w), 'r:' .. o[2], o[1])
      end
      redis.call('DEL', key)
      orders = orders + 1
    end
  end
  local w = string.match(f, '^w:(.*)$')
  if w then -- it converted for w
    redis.call('HINCRBY', ws(w), 'conv', -1)
    if redis.call('HEXISTS', P .. 'wr:' .. redis.sha1hex(w), att) == 1 then
      redis.call('HINCRBY', ws(w), 'creg', -1)
    end
  end
end
for _, w in ipairs(redis.call('HKEYS', P .. 'webinars')) do
  if redis.call('HDEL', P .. 'wr:' .. redis.sha1hex(w), att) == 1 then
    redis.call('HINCRBY', ws(w), 'reg', -1)
    regs = regs + 1
  end
end
for i = 4, #ARGV do
  if redis.call('HGET', P .. 'cookies', ARGV[i]) == attHex .. att then
    redis.call('HDEL', P .. 'cookies', ARGV[i])
    cookies = cookies + 1
  end
end
-- The clicks it converted keep their campaign, cost, time and valuation
-- (reports stay right) but lose their macros: the traffic source's ids of
-- the person's visit. Their ids are returned for the caller to strip
-- them elsewhere; the set stays (it expires with the clicks), so the
-- same erasure sent again names them again. A member of 40 hex digits
-- was written by an earlier build, as the click key's <h>: stripped, not
-- named (a click id has 26 characters).
local clicks, ids = 0, {}
for _, m in ipairs(redis.call('SMEMBERS', P .. 'ak:' .. attHex)) do
  local kk
  if #m == 40 and not string.find(m, '[^0-9a-f]') then
    kk = P .. 'k:' .. m
  else
    kk = P .. 'k:' .. redis.sha1hex(m)
    ids[#ids + 1] = m
  end
  local cj = redis.call('GET', kk)
  if cj then
    local click = cjson.decode(cj)
    if click.m and next(click.m) ~= nil then
      click.m = nil
      redis.call('SET', kk, cjson.encode(click), 'KEEPTTL')
      clicks = clicks + 1
    end
  end
end
redis.call('DEL', ak, P .. 'prof:' .. attHex)
local prev = redis.call('HGET', P .. 'erased', att)
if not prev or gt(at, prev) then redis.call('HSET', P .. 'erased', att, at) end
local found = 0
if #rec > 0 then found = 1 end
local out = {found, orders, regs, cookies, clicks}
for _, id in ipairs(ids) do out[#out + 1] = id end
return out
