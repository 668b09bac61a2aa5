-- apply.lua: one ledger op (docs/ledger.md), atomically. Called by
-- (*Ledger).Apply with the argument layout of args.go.
--
-- KEYS[1] is the account record, pp:{<account>}:account. Every other key of
-- the op is built here from its prefix pp:{<account>}: and so carries the
-- same {<account>} hash tag: it is in KEYS[1]'s slot, which Redis Cluster
-- allows a script to touch without declaring it. Ids (hit ids, order keys,
-- attendee ids, webinar ids, tags) appear in key names only as SHA-1 hex,
-- so no id can change the slot or the shape of a key. The caller sends the
-- hex of the ids it knows (hashing is cheaper in Go than here, and Go
-- scales out); the script hashes only ids it finds in Redis (tag members,
-- acquisition and order webinars).
--
-- Money and times are int64 decimal strings. Lua numbers are doubles, exact
-- only up to 2^53, so totals change through HINCRBY (exact int64 in Redis)
-- and differences are computed by sub() on two 9-digit halves.
--
-- Returns {status, reason, delta, attendee id, credited webinar...}.

local P = string.sub(KEYS[1], 1, -8) -- strip "account"

-- Exact int64 arithmetic on decimal strings.
local B = 1000000000
local function split(s) -- value = hi*B + lo, both with the sign of the value
  local neg = string.sub(s, 1, 1) == '-'
  if neg then s = string.sub(s, 2) end
  local n = #s
  local hi, lo = 0, tonumber(s)
  if n > 9 then
    hi, lo = tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))
  end
  if neg then return -hi, -lo end
  return hi, lo
end

local function sub(a, b) -- a - b
  local ah, al = split(a)
  local bh, bl = split(b)
  local h, l = ah - bh, al - bl
  local c = math.floor(l / B)
  h, l = h + c, l - c * B -- 0 <= l < B
  local sign = ''
  if h < 0 then
    sign = '-'
    if l > 0 then h, l = -h - 1, B - l else h = -h end
  end
  if h == 0 then return sign .. string.format('%d', l) end
  return sign .. string.format('%d%09d', h, l)
end

local function sign(s)
  if s == '0' then return 0 end
  if string.sub(s, 1, 1) == '-' then return -1 end
  return 1
end

local function add(a, b) -- a + b
  if b == '0' then return a end
  if a == '0' then return b end
  if string.sub(b, 1, 1) == '-' then return sub(a, string.sub(b, 2)) end
  return sub(a, '-' .. b)
end

-- incr adds a decimal amount to a hash field, dropping totals back at 0.
local function incr(key, field, by)
  if by == '0' then return end
  if redis.call('HINCRBY', key, field, by) == 0 then
    redis.call('HDEL', key, field)
  end
end

local function enc(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end

-- gt compares non-negative decimal strings exactly.
local function gt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end

-- Writes that no op of the batch reads are gathered and made once at the
-- end (flushBatch): webinar stats, the webinar list, applied hit ids and
-- their results. An op stages its own (st) and they join the batch's only
-- when it completes, so an op that fails adds nothing.
local batch = {num = {}, money = {}, list = {}, hits = {}, results = {}, buckets = {}}
local function stage()
  return {num = {}, money = {}, list = {}}
end
local st -- the current op's staging
-- Hit ids applied by earlier versions are single keys, h:<h> (and their
-- results hr:<h>); the account switched to hourly hashes at hbSince (ns,
-- server clock). Only ops older than that can have been applied there.
local hbSince
-- erasedAny: the account has erased attendees (pp:{A}:erased), whose ops
-- dated at or before their erasure are refused.
local erasedAny

local function count(key, field, by)
  local t = st.num[key]
  if not t then t = {}; st.num[key] = t end
  t[field] = (t[field] or 0) + by
end
local function money(key, field, by)
  if by == '0' then return end
  local t = st.money[key]
  if not t then t = {}; st.money[key] = t end
  t[field] = add(t[field] or '0', by)
end
local function merge(src, dst, plus)
  for key, fields in pairs(src) do
    local t = dst[key]
    if not t then t = {}; dst[key] = t end
    for f, v in pairs(fields) do
      if t[f] then t[f] = plus(t[f], v) else t[f] = v end
    end
  end
end
local function addNum(a, b) return a + b end

-- applyOne applies one op (ARGV: the op's arguments, see apply.go) and
-- returns its reply and whether its hit id is to be remembered.
local function applyOne(ARGV)
local kind, hitID, ttl, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local email, emailID, cookie = ARGV[5], ARGV[6], ARGV[8]

local hexes = {}
local function hx(s)
  local v = hexes[s]
  if not v then
    v = redis.sha1hex(s)
    hexes[s] = v
  end
  return v
end

-- 2. A hit id is applied once; rejected hits are remembered too. They are
-- kept by the hour of the op's time, in one hash of ids (pp:{A}:hb:<hour>)
-- and one of results (pp:{A}:rb:<hour>). A replay gets the first
-- application's result back while it is kept, as a JSON list after the
-- reply.
local secs = tonumber(string.sub(now, 1, -10)) or 0
local hour = math.floor(secs / 3600)
local hb, rb = P .. 'hb:' .. hour, P .. 'rb:' .. hour
local pending = batch.hits[hb] and batch.hits[hb].ids[hitID]
local seen, orig = pending ~= nil, pending
if not seen and redis.call('HEXISTS', hb, hitID) == 1 then
  seen, orig = true, redis.call('HGET', rb, hitID)
elseif not seen and gt(hbSince, now) then
  local h = redis.sha1hex(hitID)
  if redis.call('EXISTS', P .. 'h:' .. h) == 1 then
    seen, orig = true, redis.call('GET', P .. 'hr:' .. h)
  end
end
if seen then
  if orig then return {'duplicate', 'replayed_hit', '0', '', orig}, false end
  return {'duplicate', 'replayed_hit', '0', ''}, false
end
local hitTTL, resultTTL = string.match(ttl, '^(%d+):(%d+)$')
if not batch.buckets[hb] then
  batch.buckets[hb] = {end_ = (hour + 1) * 3600, hitTTL = tonumber(hitTTL), resultTTL = tonumber(resultTTL), rb = rb}
end

-- identify resolves an op's attendee: the email's (or the attendee id of
-- a replayed row), else the one its cookie links to, else the cookie's
-- own. It returns the attendee id and its email, "" when none.
local function identify(emailID, emailHex, email, cookie, cookieHex)
  if emailID ~= '' then
    hexes[emailID] = emailHex
    return emailID, email
  elseif cookie ~= '' then
    local link = redis.call('HGET', P .. 'cookies', cookie)
    if link then
      local id = string.sub(link, 41)
      hexes[id] = string.sub(link, 1, 40)
      return id, ''
    end
    hexes['c_' .. cookie] = cookieHex
    return 'c_' .. cookie, ''
  end
  return '', ''
end

-- An erased attendee's ops dated at or before its erasure are refused
-- (a replay, or a hit that waited in the log), and carry no attendee.
local function isErased(id)
  if id == '' or not erasedAny then return false end
  local t = redis.call('HGET', P .. 'erased', id)
  return t and not gt(now, t)
end

-- S2S ops: a click ('k') and a postback ('p'), the rules of
-- storage.DecidePostback (storage/s2s.go), kept in step by the conformance
-- suite. Their ARGV from 5 on are those of s2sArgs (apply.go).
local function keep(res) return res, true end
if kind == 'k' then
  -- 5 click id h, 6 click record (JSON), 7 its TTL s
  redis.call('SET', P .. 'k:' .. ARGV[5], ARGV[6], 'EX', ARGV[7])
  return keep({'accepted', '', '0', ''})
end
if kind == 'p' then
  -- 5 click id h, 6 conversion key h, 7 status, 8 raw status,
  -- 9 has payout (1, 0), 10 payout, 11 currency, 12 goal, 13 txid,
  -- 14 network of the postback's path ('' account-level), 15 from the
  -- conversion pixel (1, 0), 16 email attendee id (or a replayed row's
  -- attendee id), 17 its h, 18 cookie, 19 cookie attendee id h: the
  -- conversion pixel's person, if any; 20 the click id
  local pa = identify(ARGV[16], ARGV[17], '', ARGV[18], ARGV[19])
  if isErased(pa) then return keep({'rejected', 'erased', '0', ''}) end
  local cj = redis.call('GET', P .. 'k:' .. ARGV[5])
  if not cj then return keep({'rejected', 'unknown_click', '0', ''}) end
  local click = cjson.decode(cj)
  -- Who may convert it (storage.ClickAccess): recorded with the click, or
  -- for a click of an earlier build its campaign's current document
  -- (storage.CampaignAccess); nobody when that is gone.
  local access = click.a
  if type(access) ~= 'table' then
    access = nil
    local doc = redis.call('HGET', P .. 'cfg:campaign', click.c or '')
    local ok, d = false, nil
    if doc then ok, d = pcall(cjson.decode, doc) end
    if ok and type(d) == 'table' then
      local n, px = d.network_id, d.pixel_conversions
      if n == nil or n == cjson.null then n = '' end
      if px == nil or px == cjson.null then px = (n == '') end
      if type(n) == 'string' and type(px) == 'boolean' then access = {n = n, px = px} end
    end
  end
  if ARGV[15] == '1' then
    if not access or access.px ~= true then return keep({'rejected', 'pixel_conversions_disabled', '0', ''}) end
  elseif not access or (access.n or '') ~= ARGV[14] then
    return keep({'rejected', 'wrong_network', '0', ''})
  end
  if gt(now, click.exp) then return keep({'rejected', 'expired_click', '0', ''}) end
  local v = click.v or {}
  local goal = ARGV[12]
  if goal == '' then goal = 'default' end
  local value
  if v.p and v.p ~= '' then
    value = v.p
  else
    local g = (v.g or {})[goal]
    local t = (g and g.type) or 'dynamic'
    if t == 'none' then value = '0'
    elseif t == 'fixed' then value = g.value or '0'
    elseif ARGV[9] == '1' then value = ARGV[10]
    else value = '0' end
  end
  local status, cur = ARGV[7], ARGV[11]
  local function rev(st, val)
    if st == 'approved' then return val end
    return '0'
  end
  -- A conversion the person reached ties the click to them
  -- (pp:{A}:ak:<h>, kept as long as the click): their erasure strips
  -- its macros, and names it to the caller.
  if pa ~= '' then
    local ak, kk = P .. 'ak:' .. hx(pa), P .. 'k:' .. ARGV[5]
    redis.call('SADD', ak, ARGV[20])
    local ttl = redis.call('PTTL', kk)
    if ttl > 0 and redis.call('PTTL', ak) < ttl then redis.call('PEXPIRE', ak, ttl) end
  end
  local function out(st, reason, delta, pst, pv)
    return keep({st, reason, delta, pa, '#conv', cj, pst or '', pv or '0', value})
  end
  local ck = P .. 'cv:' .. ARGV[6]
  local prev = redis.call('HMGET', ck, 'st', 'v', 'cur')
  local pst, pv, pcur = prev[1], prev[2], prev[3]
  if not pst then
    redis.call('HSET', ck, 'st', status, 'raw', ARGV[8], 'v', value, 'cur', cur)
    -- It goes with its click: once the click expires no postback reaches it.
    local ttl = redis.call('PTTL', P .. 'k:' .. ARGV[5])
    if ttl > 0 then redis.call('PEXPIRE', ck, ttl) end
    return out('accepted', '', rev(status, value))
  end
  if pcur ~= cur then return out('rejected', 'currency_mismatch', '0', pst, pv) end
  if pst == status and pv == value then return out('duplicate', 'same_conversion', '0', pst, pv) end
  local allowed = (pst == status)
    or (pst == 'pending' and (status == 'approved' or status == 'declined'))
    or (pst == 'approved' and (status == 'declined' or status == 'chargeback'))
    or (pst == 'declined' and status == 'approved')
  if not allowed then return out('rejected', 'bad_transition', '0', pst, pv) end
  redis.call('HSET', ck, 'st', status, 'raw', ARGV[8], 'v', value, 'cur', cur)
  return out('updated', '', sub(rev(status, value), rev(pst, pv)), pst, pv)
end

-- Identity, resolved without changing anything yet. A cookie link is
-- stored as <attendee hex><attendee id>.
local att, attEmail = identify(emailID, ARGV[7], email, cookie, ARGV[9])
if isErased(att) then return {'rejected', 'erased', '0', ''}, true end

-- 3. R: explicit webinars in order without duplicates, then each tag's
-- members sorted by id (ZRANGE of a score-0 set: byte order).
local R, inR = {}, {}
local i = 21
for _ = 1, tonumber(ARGV[20]) do
  local w = ARGV[i]
  hexes[w] = ARGV[i + 1]
  i = i + 2
  if w ~= '' and not inR[w] then
    inR[w] = true
    R[#R + 1] = w
  end
end
local ntags = tonumber(ARGV[i])
i = i + 1
for _ = 1, ntags do
  local members = redis.call('ZRANGE', P .. 't:' .. ARGV[i], 0, -1)
  i = i + 1
  for _, w in ipairs(members) do
    if not inR[w] then
      inR[w] = true
      R[#R + 1] = w
    end
  end
end

-- 4. Credited webinars are listed (untagged, unnamed when new). Only ops
-- that are not rejected call it (rule 5), and only for the webinars newly
-- credited to the order or registered to: the others were listed when they
-- were.
local function list(webinars)
  for _, w in ipairs(webinars) do st.list[w] = true end
end

-- attendee reads an attendee record once: {key, exists, new, em, acq,
-- set}. Plain field writes queue in set and go in one HSET at the end
-- (flush): one command instead of one per field.
local attendees = {}
local function attendee(id)
  local a = attendees[id]
  if a then return a end
  local key = P .. 'a:' .. hx(id)
  local v = redis.call('HMGET', key, 'id', 'em', 'acq')
  a = {key = key, exists = v[1] ~= false, new = false, em = v[2] or '', acq = {}, set = {}}
  if v[3] then a.acq = cjson.decode(v[3]) end
  attendees[id] = a
  return a
end

-- converted reports whether an order of the attendee was credited to
-- webinar w (its w:<webinar> field: one read, where a set of converted
-- attendees per webinar would be one more write per conversion).
local function converted(a, w)
  if a.new then return false end
  return redis.call('HEXISTS', a.key, 'w:' .. w) == 1
end

local function queue(a, field, value)
  a.set[#a.set + 1] = field
  a.set[#a.set + 1] = value
end

local function flush()
  for _, a in pairs(attendees) do
    if #a.set > 0 then redis.call('HSET', a.key, unpack(a.set)) end
  end
end

-- The identity effects of an op that is not rejected: the cookie is linked
-- to the email's attendee (last link wins), and the attendee has a record.
local function identify()
  if att == '' then return end
  if email ~= '' and cookie ~= '' then
    redis.call('HSET', P .. 'cookies', cookie, hx(att) .. att)
  end
  local a = attendee(att)
  if not a.exists then
    queue(a, 'id', att)
    if attEmail ~= '' then queue(a, 'em', attEmail) end
    a.exists, a.new, a.em = true, true, attEmail
  end
end

local function result(status, reason, delta, credited)
  local out = {status, reason, delta, att}
  for _, w in ipairs(credited) do out[#out + 1] = w end
  return out
end

-- mergeProfile merges the profile fields of the JSON object prof into
-- the attendee's profile; it returns whether the profile is new and
-- whether anything changed. A profile without fields (a lead with an
-- email only) is no hash: the attendee's pf field says it exists.
local function mergeProfile(prof)
  local pk = P .. 'prof:' .. hx(att)
  local a = attendee(att)
  local isNew = redis.call('EXISTS', pk) == 0 and redis.call('HEXISTS', a.key, 'pf') == 0
  if isNew then redis.call('HSET', a.key, 'pf', '1') end
  local changed = isNew
  for k, v in pairs(cjson.decode(prof)) do
    if redis.call('HGET', pk, k) ~= v then
      redis.call('HSET', pk, k, v)
      changed = true
    end
  end
  return isNew, changed
end

local function register()
  if #R == 0 then return {'rejected', 'no_webinar', '0', att} end
  if att == '' then return {'rejected', 'no_attendee', '0', ''} end
  identify()
  local value = now .. ':' .. attendee(att).em
  local isNew = false
  for _, w in ipairs(R) do
    local hw = hx(w)
    if redis.call('HSETNX', P .. 'wr:' .. hw, att, value) == 1 then
      isNew = true
      st.list[w] = true
      local ws = P .. 'ws:' .. hw
      count(ws, 'reg', 1)
      if converted(attendee(att), w) then count(ws, 'creg', 1) end
    end
  end
  flush()
  -- An imported registrant's details (name, phone...), after the tags.
  local profileChanged = false
  if ARGV[i] then
    local _, changed = mergeProfile(ARGV[i])
    profileChanged = changed
  end
  if isNew then return result('accepted', '', '0', R) end
  if profileChanged then return result('updated', '', '0', R) end
  return result('duplicate', 'already_registered', '0', R)
end

local function acquisition(id)
  return attendee(id).acq
end

-- convert follows attribution.Sight line by line and applies its Effect as
-- the Effect doc comment says.
local function convert()
  local okey, okeyHex, window = ARGV[10], ARGV[11], ARGV[12]
  local hasAmount, amountArg, cur = ARGV[13] == '1', ARGV[14], ARGV[15]
  local ko = P .. 'o:' .. okeyHex
  local o = redis.call('HMGET', ko, 'amt', 'cur', 'w', 'att', 'fs', 'ls')
  local stored, prev = nil, nil
  if o[1] then
    stored = {amt = o[1], cur = o[2], w = cjson.decode(o[3]), att = o[4], fs = o[5], ls = o[6]}
    prev = stored
    if window ~= '0' and sign(sub(sub(now, stored.ls), window)) > 0 then
      prev = nil -- the fingerprint expired: this is another order
    end
  end

  local webinars, amount, diff, existing, added, attach, orderAtt
  if prev == nil then
    webinars = R
    if #webinars == 0 and att ~= '' then
      -- A webinar-less hit (a recurring charge) stays with the webinars
      -- that won the customer.
      webinars = acquisition(att)
    end
    if #webinars == 0 and att == '' then
      return {'rejected', 'no_webinar', '0', ''}
    end
    amount = '0'
    if hasAmount then amount = amountArg end
    diff, existing, added = amount, {}, webinars
    attach, orderAtt = att ~= '', att
  else
    if cur ~= prev.cur then
      return {'rejected', 'currency_mismatch', '0', att}
    end
    amount = prev.amt
    if hasAmount then amount = amountArg end
    local inOrder = {}
    webinars = {}
    for _, w in ipairs(prev.w) do
      inOrder[w] = true
      webinars[#webinars + 1] = w
    end
    added = {}
    for _, w in ipairs(R) do
      if not inOrder[w] then
        inOrder[w] = true
        added[#added + 1] = w
        webinars[#webinars + 1] = w
      end
    end
    diff, existing = sub(amount, prev.amt), prev.w
    attach = prev.att == '' and att ~= ''
    orderAtt = prev.att
    if attach then orderAtt = att end
  end
  local acquire = orderAtt ~= '' and #webinars > 0 and #acquisition(orderAtt) == 0

  local status, reason = 'accepted', ''
  if prev ~= nil then
    if diff ~= '0' or #added > 0 or attach then
      status = 'updated'
    else
      status, reason = 'duplicate', 'same_order'
    end
  end

  list(added)
  identify()
  if stored ~= nil and prev == nil and stored.att ~= '' then
    -- The replaced order stays in its attendee's order list as last seen.
    redis.call('HSET', P .. 'oa:' .. okeyHex .. ':' .. stored.fs, unpack(redis.call('HGETALL', ko)))
  end

  local rf = 'r:' .. cur
  if diff ~= '0' then
    for _, w in ipairs(existing) do money(P .. 'ws:' .. hx(w), rf, diff) end
  end
  for _, w in ipairs(added) do
    local ws = P .. 'ws:' .. hx(w)
    count(ws, 'sales', 1)
    money(ws, rf, amount)
  end

  local firstSeen = now
  if prev ~= nil then firstSeen = prev.fs end
  if orderAtt ~= '' then
    local a = attendee(orderAtt)
    local converts = added
    if attach then
      if a.new then -- no totals yet: set them with the other fields
        queue(a, 'n', '1')
        if amount ~= '0' then queue(a, 'l:' .. cur, amount) end
      else
        redis.call('HINCRBY', a.key, 'n', 1)
        incr(a.key, 'l:' .. cur, amount)
      end
      queue(a, 'o:' .. okeyHex .. ':' .. firstSeen, '')
      converts = webinars
    else
      incr(a.key, 'l:' .. cur, diff)
    end
    for _, w in ipairs(converts) do
      if not converted(a, w) then
        local hw = hx(w)
        local ws = P .. 'ws:' .. hw
        count(ws, 'conv', 1)
        if redis.call('HEXISTS', P .. 'wr:' .. hw, orderAtt) == 1 then
          count(ws, 'creg', 1)
        end
        queue(a, 'w:' .. w, '')
      end
    end
    if acquire then queue(a, 'acq', enc(webinars)) end
  end
  flush()

  if prev == nil then
    local fields = {'k', okey, 'amt', amount, 'cur', cur, 'w', enc(webinars),
      'att', orderAtt, 'src', ARGV[19], 'fs', now, 'ls', now}
    -- Labels only when given: readers take a missing one as empty.
    for j, name in ipairs({'id', 'pid', 'pn'}) do
      if ARGV[15 + j] ~= '' then
        fields[#fields + 1], fields[#fields + 2] = name, ARGV[15 + j]
      end
    end
    -- A replaced order (its window expired) leaves none of its labels.
    if stored ~= nil then redis.call('DEL', ko) end
    redis.call('HSET', ko, unpack(fields))
  else
    -- Labels stay those of the first sighting; last seen never moves back.
    local ls = prev.ls
    if gt(now, ls) then ls = now end
    redis.call('HSET', ko, 'amt', amount, 'w', enc(webinars), 'att', orderAtt, 'ls', ls)
  end
  return result(status, reason, diff, webinars)
end

-- A lead ('l'): the attendee, and its profile fields merged from the
-- JSON object after the tags.
local function lead()
  identify()
  flush()
  local isNew, changed = mergeProfile(ARGV[i])
  if not changed then return {'duplicate', 'same_profile', '0', att} end
  if isNew then return {'accepted', '', '0', att} end
  return {'updated', '', '0', att}
end

if kind == 'r' then return register(), true end
if kind == 'l' then return lead(), true end
return convert(), true
end

-- flushBatch makes the gathered writes: stats (totals back at 0 are
-- dropped), the webinar list, and hit ids and results in their hour's
-- hashes, which expire their retention after the hour ends (counted from
-- the server's clock when the hour is long past, as for a replay of old
-- hits).
local function flushBatch()
  for key, fields in pairs(batch.num) do
    for f, by in pairs(fields) do redis.call('HINCRBY', key, f, by) end
  end
  for key, fields in pairs(batch.money) do
    for f, by in pairs(fields) do incr(key, f, by) end
  end
  for w in pairs(batch.list) do redis.call('HSETNX', P .. 'webinars', w, '') end
  local nowSecs = tonumber(redis.call('TIME')[1])
  local function hset(key, list, ttl)
    for j = 1, #list, 500 do
      redis.call('HSET', key, unpack(list, j, math.min(j + 499, #list)))
    end
    if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ttl) end
  end
  for hb, h in pairs(batch.hits) do
    local b = batch.buckets[hb]
    local past = math.max(0, b.end_ - nowSecs)
    hset(hb, h.marks, past + b.hitTTL)
    hset(b.rb, h.results, past + b.resultTTL)
  end
end

-- The batch: ARGV[1] ops, then for each op its number of arguments and
-- its arguments. The reply lists each op's reply; an op that fails ends
-- the batch, its reply {'error', message} last.
if redis.call('EXISTS', KEYS[1]) == 0 then -- 1. the account must exist
  local out = {}
  for j = 1, tonumber(ARGV[1]) do out[j] = {'rejected', 'unknown_account', '0', ''} end
  return out
end
hbSince = redis.call('GET', P .. 'hb-since')
if not hbSince then
  local t = redis.call('TIME')
  hbSince = t[1] .. string.format('%06d', tonumber(t[2])) .. '000'
  redis.call('SET', P .. 'hb-since', hbSince)
end
erasedAny = redis.call('EXISTS', P .. 'erased') == 1
local out, pos = {}, 2
for j = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[pos])
  local args = {}
  for k = 1, n do args[k] = ARGV[pos + k] end
  pos = pos + n + 1
  st = stage()
  local ok, res, remember = pcall(applyOne, args)
  if not ok then
    out[j] = {'error', tostring(res)}
    break
  end
  merge(st.num, batch.num, addNum)
  merge(st.money, batch.money, add)
  for w in pairs(st.list) do batch.list[w] = true end
  if remember then
    local hb = P .. 'hb:' .. math.floor((tonumber(string.sub(args[4], 1, -10)) or 0) / 3600)
    local h = batch.hits[hb]
    if not h then h = {ids = {}, marks = {}, results = {}}; batch.hits[hb] = h end
    local json = cjson.encode(res)
    h.ids[args[2]] = json
    h.marks[#h.marks + 1], h.marks[#h.marks + 2] = args[2], '1'
    h.results[#h.results + 1], h.results[#h.results + 2] = args[2], json
  end
  out[j] = res
end
flushBatch()
return out
