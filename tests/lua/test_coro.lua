-- test_coro.lua: mp.spawn and mp.sleep.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"

TestCoro = H.class()

function TestCoro:test_spawn_runs_now_until_first_wait()
  local steps = {}
  mp.spawn(function(a, b)
    steps[#steps + 1] = a + b
    mp.sleep(5)
    steps[#steps + 1] = "woke"
  end, 1, 2)
  lu.assertEquals(steps, { 3 })
  mp.run()
  lu.assertEquals(steps, { 3, "woke" })
end

function TestCoro:test_sleeps_interleave_in_time_order()
  local order = {}
  for _, ms in ipairs({ 30, 10, 20 }) do
    mp.spawn(function()
      mp.sleep(ms)
      order[#order + 1] = ms
    end)
  end
  mp.run()
  lu.assertEquals(order, { 10, 20, 30 })
end

function TestCoro:test_sleep_lasts_long_enough()
  local elapsed
  mp.spawn(function()
    local start = mp.now()
    mp.sleep(40)
    elapsed = mp.now() - start
  end)
  mp.run()
  lu.assertTrue(elapsed >= 39 and elapsed < 300, "slept " .. elapsed)
end

function TestCoro:test_many_sleeps_in_one_coroutine()
  local n = 0
  mp.spawn(function()
    for _ = 1, 20 do
      mp.sleep(0)
      n = n + 1
    end
  end)
  mp.run()
  lu.assertEquals(n, 20)
end

function TestCoro:test_error_in_coroutine_goes_to_handler_with_traceback()
  local errors = H.capture_errors()
  mp.spawn(function()
    mp.sleep(1)
    error("coroutine boom")
  end)
  mp.spawn(function() error("at once") end)
  mp.timer(10, H.expect(function() end, 1))
  mp.run()
  lu.assertEquals(#errors, 2)
  lu.assertStrContains(errors[1], "at once")
  lu.assertStrContains(errors[2], "coroutine boom")
  lu.assertStrContains(errors[2], "stack traceback:")
  lu.assertStrContains(errors[2], "test_coro.lua")
end

function TestCoro:test_spawn_inside_spawn()
  local order = {}
  mp.spawn(function()
    mp.spawn(function()
      mp.sleep(5)
      order[#order + 1] = "inner"
    end)
    order[#order + 1] = "outer"
  end)
  mp.run()
  lu.assertEquals(order, { "outer", "inner" })
end

function TestCoro:test_misuse()
  H.assert_arg_error(1, "spawn", "function expected, got nil", mp.spawn)
  local ok, err = pcall(mp.sleep, 1)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "mp.sleep must be called inside mp.spawn")
  local bad
  mp.spawn(function()
    bad = { pcall(mp.sleep, -1) }
  end)
  lu.assertFalse(bad[1])
  lu.assertStrContains(bad[2], "delay must be a number >= 0")
end

H.run_tests()
