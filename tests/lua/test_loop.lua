-- test_loop.lua: mp.run, mp.stop, mp.now, mp.alive, mp.backend.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"

TestLoop = H.class()

function TestLoop:test_run_returns_false_when_idle()
  lu.assertFalse(mp.alive())
  lu.assertFalse(mp.run())
end

function TestLoop:test_stop_inside_callback_then_resume()
  local order = {}
  mp.timer(1, H.expect(function()
    order[#order + 1] = "first"
    mp.stop()
  end, 1))
  mp.timer(1, H.expect(function() order[#order + 1] = "second" end, 1))
  lu.assertTrue(mp.run())
  lu.assertEquals(order, { "first" })
  lu.assertTrue(mp.alive())
  lu.assertFalse(mp.run())
  lu.assertEquals(order, { "first", "second" })
end

function TestLoop:test_nested_run_is_an_error()
  local ok, err
  mp.timer(1, H.expect(function() ok, err = pcall(mp.run) end, 1))
  mp.run()
  lu.assertFalse(ok)
  lu.assertStrContains(err, "already running")
end

function TestLoop:test_now_is_monotonic_milliseconds()
  local a = mp.now()
  local b
  mp.timer(20, function() b = mp.now() end)
  mp.run()
  lu.assertTrue(b - a >= 19 and b - a < 1000, "elapsed " .. (b - a))
  lu.assertEquals(math.type(a), "float")
end

function TestLoop:test_backend_and_workers_are_the_forced_ones()
  local forced = os.getenv("MOONPORT_BACKEND")
  if forced and forced ~= "" then
    lu.assertEquals(mp.backend(), forced)
  end
  local workers = tonumber(os.getenv("MOONPORT_WORKERS") or "")
  if workers then
    lu.assertEquals(mp.workers(), workers)
  end
  lu.assertTrue(mp.workers() >= 1)
end

function TestLoop:test_alive_while_timer_pending()
  local t = mp.timer(5, function() end)
  lu.assertTrue(mp.alive())
  t:stop()
  mp.run()
  lu.assertFalse(mp.alive())
end

H.run_tests()
