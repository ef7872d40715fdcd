-- Takes a kept session if it belongs to the principal presenting its id: someone else
-- presenting the id gets nothing, and leaves it to its owner.
-- KEYS: [1] the session hash. ARGV: [1] sub, [2] account.
local kept = redis.call('hmget', KEYS[1], 'sub', 'account', 'data')
if kept[1] == ARGV[1] and kept[2] == ARGV[2] then
  redis.call('del', KEYS[1])
  return kept[3]
end
return false
