-- test_errors.lua: errors raised in callbacks reach mp.on_error with a
-- traceback, and the loop goes on.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"

TestErrors = H.class()

function TestErrors:test_callback_error_reaches_handler_and_loop_goes_on()
  local errors = H.capture_errors()
  mp.timer(1, H.expect(function() error("boom") end, 1))
  mp.timer(20, H.expect(function() end, 1))
  mp.run()
  lu.assertEquals(#errors, 1)
  lu.assertStrContains(errors[1], "test_errors.lua")
  lu.assertStrContains(errors[1], "boom")
  lu.assertStrContains(errors[1], "stack traceback:")
end

function TestErrors:test_every_keeps_running_after_errors()
  local errors = H.capture_errors()
  local n = 0
  mp.every(2, H.expect(function(t)
    n = n + 1
    if n == 4 then t:stop() end
    error("lap " .. n)
  end, 4))
  mp.run()
  lu.assertEquals(#errors, 4)
  lu.assertStrContains(errors[4], "lap 4")
end

function TestErrors:test_non_string_error_values()
  local errors = H.capture_errors()
  local custom = setmetatable({}, { __tostring = function() return "custom" end })
  mp.timer(1, function() error(custom) end)
  mp.timer(2, function() error({ code = 1 }) end)
  mp.timer(3, function() error() end)
  mp.run()
  lu.assertEquals(#errors, 3)
  lu.assertEquals(errors[1], "custom")
  lu.assertStrContains(errors[2], "(error object is a table value)")
  lu.assertStrContains(errors[3], "(error object is a nil value)")
end

function TestErrors:test_failing_handler_does_not_stop_the_loop()
  mp.on_error(function() error("handler fails too") end)
  mp.timer(1, function() error("first") end)
  mp.timer(5, H.expect(function() end, 1))
  mp.run()
end

function TestErrors:test_handler_can_be_replaced_and_reset()
  local first = H.capture_errors()
  mp.timer(1, function() error("one") end)
  mp.run()
  local second = H.capture_errors()
  mp.timer(1, function() error("two") end)
  mp.run()
  lu.assertEquals(#first, 1)
  lu.assertEquals(#second, 1)
  lu.assertStrContains(second[1], "two")
  mp.on_error(nil)
  H.assert_arg_error(1, "on_error", "function expected, got number", mp.on_error, 42)
end

function TestErrors:test_report_error()
  local errors = H.capture_errors()
  mp.report_error("by hand")
  lu.assertEquals(errors, { "by hand" })
end

function TestErrors:test_stop_from_handler()
  mp.on_error(function() mp.stop() end)
  mp.timer(1, function() error("stop please") end)
  local later = mp.timer(30, H.expect(function() end, 1))
  lu.assertTrue(mp.run(), "run says it was stopped")
  lu.assertTrue(later:active())
end

H.run_tests()
