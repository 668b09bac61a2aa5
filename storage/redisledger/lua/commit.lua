-- commit.lua: check, then write, atomically. It holds no rule of the
-- ledger (storage/decide holds them all): Go read records, decided, and
-- sends what it read and what to write; this script refuses the whole
-- step when a record changed since (Go then reads again and decides
-- again).
--
-- KEYS[1] is the account record, pp:{<account>}:account. Every other key
-- is that prefix, pp:{<account>}:, plus a suffix Go sends: all of them are
-- in KEYS[1]'s hash slot, which Redis Cluster lets a script touch.
--
-- ARGV[1] is msgpack {checks, writes}. checks: key suffix, field, want,
-- ...: the value read (field '' reads a string key, else a hash field;
-- absent reads '') must be '' when want is '', equal what follows '='
-- in want, or start with what follows '^'. writes: {command, key suffix,
-- args...}, made in order; two of them are ours:
--   KEEPAS key other    key expires no sooner than other does
--   HINCRZ key field n  HINCRBY, the field deleted when it comes to 0
--
-- Returns {1} once written, else {0, check number, value read, ...} for
-- every check that failed, having written nothing.
local P = string.sub(KEYS[1], 1, -8)
local req = cmsgpack.unpack(ARGV[1])
local checks, writes = req[1], req[2]
local stale = {0}
for i = 1, #checks, 3 do
  local k, f, want = P .. checks[i], checks[i + 1], checks[i + 2]
  local v
  if f == '' then v = redis.call('GET', k) else v = redis.call('HGET', k, f) end
  v = v or ''
  local ok
  if want == '' then
    ok = v == ''
  elseif string.sub(want, 1, 1) == '=' then
    ok = v == string.sub(want, 2)
  else
    ok = string.sub(v, 1, #want - 1) == string.sub(want, 2)
  end
  if not ok then
    stale[#stale + 1] = (i + 2) / 3
    stale[#stale + 1] = v
  end
end
if #stale > 1 then return stale end
for _, w in ipairs(writes) do
  local cmd, k = w[1], P .. w[2]
  if cmd == 'KEEPAS' then
    local ttl = redis.call('PTTL', P .. w[3])
    if ttl > 0 and redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
  elseif cmd == 'HINCRZ' then
    if redis.call('HINCRBY', k, w[3], w[4]) == 0 then redis.call('HDEL', k, w[3]) end
  else
    w[2] = k
    redis.call(unpack(w))
  end
end
return {1}
