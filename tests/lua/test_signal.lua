-- test_signal.lua: mp.signal: a signal sent to this runner process reaches
-- its callback; names; stop gives the disposition back; unref; several
-- handles; bad names. The process's caught signals are read from
-- /proc/self/status (SigCgt), so the tests see what the kernel sees.
--
-- On Windows only SIGINT (Ctrl+C) and SIGTERM (Ctrl+Break) exist, and a
-- script has no way to send them to itself: there the tests that need a
-- delivery skip (test_signal.c sends console events to its own process,
-- from C), the others run on SIGINT and SIGTERM, and the other names must
-- raise "not available".
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"

TestSignal = H.class()

-- Two signals the system has, for the tests that need no delivery.
local ONE = H.windows and "SIGINT" or "SIGUSR1"
local TWO = H.windows and "SIGTERM" or "SIGUSR2"

local PID = not H.windows and io.open("/proc/self/stat"):read("l"):match("^(%d+)")
local NUMBERS = { SIGHUP = 1, SIGINT = 2, SIGUSR1 = 10, SIGUSR2 = 12, SIGTERM = 15 }

local NO_KILL = "no kill(1) on Windows, and a script cannot send itself Ctrl+C: "
  .. "test_signal.c (c.iocp.signal.*) sends console events to its own process"

local function send(name)
  lu.assertTrue(os.execute("kill -" .. name:sub(4) .. " " .. PID))
end

-- Whether this process catches the signal (has a handler installed); nil
-- where the system does not say (Windows).
local function caught(name)
  if H.windows then return nil end
  local status = assert(io.open("/proc/self/status")):read("a")
  local mask = tonumber(status:match("SigCgt:%s*(%x+)"), 16)
  return mask & (1 << (NUMBERS[name] - 1)) ~= 0
end

-- caught(name) is expected, where the system says.
local function assert_caught(name, expected, msg)
  if not H.windows then lu.assertEquals(caught(name), expected, msg) end
end

-- Run the loop until finish(handles) (which stops them); if that has not
-- come within ms, stop them and fail.
local guard
local function run_until_finished(ms, handles)
  local errors = H.capture_errors()
  guard = mp.timer(ms, function()
    for _, h in ipairs(handles) do
      h:stop()
    end
    error("no signal within " .. ms .. " ms")
  end)
  mp.run()
  lu.assertEquals(errors, {})
end

local function finish(...)
  guard:stop()
  for _, h in ipairs({ ... }) do
    h:stop()
  end
end

function TestSignal:test_usr1_reaches_the_callback()
  H.skip_on_windows(NO_KILL)
  local h
  h = mp.signal("SIGUSR1", H.expect(function(handle, name)
    lu.assertIs(handle, h)
    lu.assertEquals(name, "SIGUSR1")
    finish(handle)
  end, 1))
  lu.assertTrue(h:active())
  lu.assertTrue(caught("SIGUSR1"))
  send("SIGUSR1")
  run_until_finished(5000, { h })
  lu.assertFalse(h:active())
end

function TestSignal:test_stop_gives_the_disposition_back()
  assert_caught(TWO, false)
  local a = mp.signal(TWO:lower(), H.expect(function() end, 0))
  local b = mp.signal(TWO:sub(4), H.expect(function() end, 0))
  assert_caught(TWO, true)
  lu.assertTrue(a:stop())
  assert_caught(TWO, true, "one handle is left")
  lu.assertTrue(b:stop())
  lu.assertFalse(b:stop(), "stopping twice")
  assert_caught(TWO, false)
  -- SIGINT is the runner's too (unless the runner was started with it
  -- ignored): it stays as it was after the script's handle stops.
  local runners = caught("SIGINT")
  mp.signal("sigint", function() end):stop()
  lu.assertEquals(caught("SIGINT"), runners)
end

function TestSignal:test_every_handle_gets_it_and_signals_coalesce()
  H.skip_on_windows(NO_KILL)
  local calls = { 0, 0 }
  local handles = {}
  for i = 1, 2 do
    handles[i] = mp.signal("SIGHUP", function()
      calls[i] = calls[i] + 1
    end)
  end
  -- A timer set before the signals fire after them, once they have all
  -- had their chance to come.
  send("SIGHUP")
  send("SIGHUP")
  local deadline = mp.now() + 5000
  local check
  check = mp.every(10, function()
    if (calls[1] >= 1 and calls[2] >= 1) or mp.now() > deadline then
      check:stop()
      handles[1]:stop()
      handles[2]:stop()
    end
  end)
  mp.run()
  lu.assertEquals(calls[1], calls[2])
  lu.assertTrue(calls[1] >= 1 and calls[1] <= 2, "calls: " .. calls[1])
end

function TestSignal:test_handles_keep_the_loop_alive_unless_unref()
  local h = mp.signal(TWO, function() end)
  lu.assertTrue(mp.alive())
  h:unref()
  lu.assertFalse(mp.alive())
  h:ref()
  lu.assertTrue(mp.alive())
  h:stop()
  lu.assertFalse(mp.alive())
  h:ref()
  lu.assertFalse(mp.alive(), "ref of a stopped handle")
end

function TestSignal:test_unref_handle_still_gets_signals()
  H.skip_on_windows(NO_KILL)
  local h = mp.signal("SIGUSR1", H.expect(function(handle)
    finish(handle)
  end, 1))
  h:unref()
  send("SIGUSR1")
  run_until_finished(5000, { h })
end

function TestSignal:test_close_and_tostring()
  local h
  do
    local scoped <close> = mp.signal(ONE, function() end)
    h = scoped
    lu.assertStrContains(tostring(h), "moonport.signal (" .. ONE .. ", active)")
  end
  lu.assertFalse(h:active())
  lu.assertStrContains(tostring(h), "stopped")
  assert_caught(ONE, false)
  h:close()
end

function TestSignal:test_bad_names_raise()
  local function f() end
  H.assert_arg_error(1, "signal", "unknown signal 'SIGFOO'", mp.signal, "SIGFOO", f)
  H.assert_arg_error(1, "signal", "unknown signal 'KILL'", mp.signal, "KILL", f)
  H.assert_arg_error(1, "signal", "unknown signal ''", mp.signal, "", f)
  H.assert_arg_error(1, "signal", "unknown signal", mp.signal, "SIGINT\0x", f)
  H.assert_arg_error(1, "signal", "unknown signal", mp.signal, ("x"):rep(100), f)
  H.assert_arg_error(1, "signal", "string expected", mp.signal, nil, f)
  H.assert_arg_error(2, "signal", "function expected", mp.signal, ONE)
  assert_caught("SIGUSR1", false)
end

-- Windows has SIGINT and SIGTERM only: the other names raise there, with
-- the name the script used made whole.
function TestSignal:test_names_the_system_lacks_raise()
  local function f() end
  for _, name in ipairs({ "SIGHUP", "usr1", "Usr2" }) do
    local full = "SIG" .. name:upper():gsub("^SIG", "")
    if H.windows then
      H.assert_arg_error(1, "signal", full .. " is not available on this platform", mp.signal, name, f)
    else
      local h = mp.signal(name, f)
      lu.assertStrContains(tostring(h), full)
      h:stop()
    end
  end
  lu.assertFalse(mp.alive())
end

H.run_tests()
