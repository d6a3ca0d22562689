-- test_timer.lua: mp.timer and mp.every.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"

TestTimer = H.class()

function TestTimer:test_fire_in_deadline_order_ties_in_arm_order()
  local order = {}
  local function mark(name)
    return H.expect(function() order[#order + 1] = name end, 1)
  end
  mp.timer(30, mark("30"))
  mp.timer(10, mark("10a"))
  mp.timer(20, mark("20"))
  mp.timer(10, mark("10b"))
  mp.timer(0, mark("0"))
  mp.run()
  lu.assertEquals(order, { "0", "10a", "10b", "20", "30" })
end

function TestTimer:test_fires_on_time()
  local start = mp.now()
  local elapsed
  mp.timer(50, H.expect(function() elapsed = mp.now() - start end, 1))
  mp.run()
  lu.assertTrue(elapsed >= 49, "fired early: " .. elapsed)
  lu.assertTrue(elapsed < 250, "fired late: " .. elapsed)
end

function TestTimer:test_callback_gets_the_handle()
  local handle
  handle = mp.timer(1, H.expect(function(t) lu.assertIs(t, handle) end, 1))
  mp.run()
end

function TestTimer:test_stop_before_expiry()
  local t = mp.timer(20, H.expect(function() end, 0))
  lu.assertTrue(t:active())
  lu.assertTrue(t:stop())
  lu.assertFalse(t:active())
  lu.assertFalse(t:stop(), "stopping twice is fine and says it was not pending")
  mp.run()
end

function TestTimer:test_stop_from_own_callback_and_after_firing()
  mp.timer(1, H.expect(function(t)
    lu.assertFalse(t:stop(), "a one-shot timer is no longer pending in its callback")
  end, 1))
  local t = mp.timer(1, H.expect(function() end, 1))
  mp.run()
  lu.assertFalse(t:stop())
end

function TestTimer:test_every_repeats_until_stopped()
  local n, times = 0, {}
  local start = mp.now()
  mp.every(10, H.expect(function(t)
    n = n + 1
    times[n] = mp.now() - start
    if n == 5 then
      lu.assertTrue(t:stop())
      t:stop()
    end
  end, 5))
  mp.run()
  lu.assertEquals(n, 5)
  lu.assertTrue(times[5] >= 49, "five 10 ms laps took " .. times[5])
  lu.assertTrue(times[5] < 500, "five 10 ms laps took " .. times[5])
end

-- No lap after the stop, and no more laps than the time allowed: counted
-- against the time the stop really came (a loaded machine may stall the
-- loop between the two calls, so 28 ms is only the least it waits).
function TestTimer:test_every_stopped_by_another_timer()
  local n, n_at_stop, stopped_after = 0, nil, nil
  local start = mp.now()
  local t = mp.every(5, function() n = n + 1 end)
  mp.timer(28, H.expect(function()
    t:stop()
    n_at_stop, stopped_after = n, mp.now() - start
  end, 1))
  mp.run()
  lu.assertEquals(n, n_at_stop, "a lap after the stop")
  lu.assertTrue(n >= 3, "laps: " .. n)
  lu.assertTrue(n <= stopped_after // 5 + 1, ("%d laps in %.1f ms"):format(n, stopped_after))
end

function TestTimer:test_forgotten_handle_still_fires()
  mp.timer(5, H.expect(function() end, 1))
  collectgarbage("collect")
  collectgarbage("collect")
  mp.run()
end

function TestTimer:test_to_be_closed_stops()
  do
    local t <close> = mp.timer(10, H.expect(function() end, 0))
    lu.assertTrue(t:active())
  end
  mp.run()
end

function TestTimer:test_tostring()
  local t = mp.timer(1, function() end)
  lu.assertStrContains(tostring(t), "moonport.timer (active)")
  mp.run()
  lu.assertStrContains(tostring(t), "moonport.timer (stopped)")
end

function TestTimer:test_many_timers()
  local n = 0
  for i = 1, 20000 do
    mp.timer(i % 20, function() n = n + 1 end)
  end
  mp.run()
  lu.assertEquals(n, 20000)
end

function TestTimer:test_bad_arguments()
  local function noop() end
  H.assert_arg_error(1, "timer", "number expected, got string", mp.timer, "10", noop)
  H.assert_arg_error(1, "timer", "delay must be a number >= 0", mp.timer, -1, noop)
  H.assert_arg_error(1, "timer", "delay must be a number >= 0", mp.timer, 0 / 0, noop)
  H.assert_arg_error(1, "timer", "delay is too large", mp.timer, math.huge, noop)
  H.assert_arg_error(2, "timer", "function expected, got no value", mp.timer, 10)
  H.assert_arg_error(2, "timer", "function expected, got number", mp.timer, 10, 5)
  H.assert_arg_error(1, "every", "interval must be > 0", mp.every, 0, noop)
  H.assert_arg_error(1, "every", "number expected, got no value", mp.every)
  local t = mp.timer(1, noop)
  H.assert_arg_error(1, "stop", "moonport.timer expected, got table", function()
    return t.stop({})
  end)
end

H.run_tests()
