-- test_timer_churn.lua: timers by the million. A million timers are created
-- and stopped, in batches of a thousand with the loop turning in between;
-- afterwards the Lua heap and (where /proc exists) RSS are back near where
-- they were after the first batches. Prints "faults tried: N" (timers).
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"

TestTimerChurn = H.class()

local faults = 0

local function rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local rss = tonumber(f:read("a"):match("VmRSS:%s*(%d+)"))
  f:close()
  return rss
end

-- Whether ASan or TSan runs in this process (their allocators keep freed
-- memory in quarantine or shadow it: RSS says nothing there, LSan checks
-- for leaks at exit instead).
local function sanitized()
  local f = io.open("/proc/self/maps")
  if not f then return false end
  local maps = f:read("a")
  f:close()
  return maps:find("lib[at]san") ~= nil
end

local function full_gc()
  collectgarbage("collect")
  collectgarbage("collect")
end

-- BATCHES batches of BATCH timers, all created (far in the future), then
-- all stopped, then the loop runs once. RSS may grow by RSS_SLACK KiB at
-- most after the first WARMUP batches (the allocator keeps some freed
-- memory), the Lua heap by 64 KiB; none of the callbacks runs.
function TestTimerChurn:test_a_million_timers_created_and_stopped()
  local BATCHES, BATCH, WARMUP, RSS_SLACK = 1000, 1000, 10, 2048
  local fired = 0
  local function never() fired = fired + 1 end
  local base_heap, base_rss
  local batch = {}
  for b = 1, BATCHES do
    for i = 1, BATCH do batch[i] = mp.timer(60000 + i, never) end
    for i = 1, BATCH do lu.assertTrue(batch[i]:stop()) end
    mp.run()
    if b == WARMUP then
      full_gc()
      base_heap, base_rss = collectgarbage("count"), rss_kib()
    end
  end
  batch = nil -- luacheck: ignore 311 (let the last batch go)
  full_gc()
  lu.assertEquals(fired, 0)
  lu.assertFalse(mp.alive())
  local heap, rss = collectgarbage("count"), rss_kib()
  lu.assertTrue(heap < base_heap + 64, ("Lua heap %.0f -> %.0f KiB"):format(base_heap, heap))
  if rss and not sanitized() then
    lu.assertTrue(rss < base_rss + RSS_SLACK, ("RSS %d -> %d KiB"):format(base_rss, rss))
  end
  faults = faults + BATCHES * BATCH
end

local rc = lu.LuaUnit.run()
print("faults tried: " .. faults)
os.exit(rc, true)
