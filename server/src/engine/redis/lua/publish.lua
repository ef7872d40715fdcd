-- One publication (or a batch of them), atomically: ownership facts, then per stream the
-- next offset, the history entry and the pub/sub message. Nothing is published unless
-- everything is.
--
-- An ingested broadcast carries a claim: the field that names it in its marker's claims
-- hash. When another node claimed it first, nothing is published and the answer is 0.
--
-- KEYS: per stream entry i (1..E): meta_i, log_i; then one key per ownership fact (1..O);
--       then, with a claim, the claims hash.
-- ARGV: [1] epoch for a stream without one, [2] node id, [3] excluded session ("" for none),
--       [4] now (Unix seconds), [5] meta TTL (seconds), [6] M messages, [7] E entries,
--       [8] O facts, [9] claim field ("" for none), [10] claims TTL (seconds); then the M
--       messages; then per entry: message index (1..M), MAXLEN, TTL (seconds), pub/sub
--       channel; then the O owning accounts.
-- Returns per entry: {epoch, offset, nodes that received it}; 0 when the claim was taken.
local new_epoch, node, exclude, now, meta_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local m, e, o = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local claim, claim_ttl = ARGV[9], ARGV[10]
local header = 10
local entries = header + m
local facts = entries + 4 * e

if claim ~= '' then
  local claims = KEYS[2 * e + o + 1]
  if redis.call('hsetnx', claims, claim, node) == 0 then
    return 0
  end
  redis.call('expire', claims, claim_ttl)
end

for j = 1, o do
  redis.call('set', KEYS[2 * e + j], ARGV[facts + j])
end

local out = {}
for i = 1, e do
  local meta, log = KEYS[2 * i - 1], KEYS[2 * i]
  local a = entries + 4 * (i - 1)
  local message = ARGV[header + tonumber(ARGV[a + 1])]
  local maxlen, ttl, channel = tonumber(ARGV[a + 2]), ARGV[a + 3], ARGV[a + 4]

  local epoch = redis.call('hget', meta, 'e')
  if not epoch then
    -- A new epoch: whatever history is left from a lost one is not part of it.
    epoch = new_epoch
    redis.call('del', log)
    redis.call('hset', meta, 'e', epoch, 's', 0)
  end
  local offset = redis.call('hincrby', meta, 's', 1)

  -- Remember the publish time of the newest message no longer held, so that a `since`
  -- at or before it is refused instead of answered in part.
  local len = redis.call('xlen', log)
  if len == 0 and offset > 1 then
    local last = redis.call('hget', meta, 't')
    if last then
      redis.call('hset', meta, 'l', last)
    end
  elseif len >= maxlen and len > 0 then
    local dropped = redis.call('xrange', log, '-', '+', 'COUNT', len - maxlen + 1)
    local fields = dropped[#dropped][2]
    for k = 1, #fields, 2 do
      if fields[k] == 't' then
        redis.call('hset', meta, 'l', fields[k + 1])
      end
    end
  end

  redis.call('xadd', log, 'MAXLEN', maxlen, offset, 'd', message, 't', now, 'n', node, 'x', exclude)
  redis.call('hset', meta, 't', now)
  redis.call('expire', log, ttl)
  redis.call('expire', meta, meta_ttl)
  local nodes = redis.call('publish', channel, 'c1:' .. offset .. ':' .. epoch .. ':' .. node .. ':' .. exclude .. ':' .. now .. ':' .. message)
  out[i] = { epoch, offset, nodes }
end
return out
