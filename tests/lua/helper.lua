-- helper.lua: what every Lua test shares. Test classes take setUp and
-- tearDown from here: after each test the loop runs to idle, garbage is
-- collected, and nothing may be left alive; expect() counts callbacks.
local lu = require "luaunit"
local mp = require "moonport"

local H = {}
local expectations = {}

-- expect(fn, n): a function that calls fn and must be called exactly n
-- times before the test ends (checked in tearDown).
function H.expect(fn, n, name)
  local e = { calls = 0, n = n, name = name or debug.traceback("expect", 2) }
  expectations[#expectations + 1] = e
  return function(...)
    e.calls = e.calls + 1
    return fn(...)
  end
end

function H.setUp()
  expectations = {}
  mp.on_error(nil)
end

function H.tearDown()
  mp.run()
  collectgarbage("collect")
  collectgarbage("collect")
  lu.assertFalse(mp.alive(), "a handle is still alive after the test")
  for _, e in ipairs(expectations) do
    lu.assertEquals(e.calls, e.n, "callback count for " .. e.name)
  end
  mp.on_error(nil)
end

-- A test class with the shared setUp and tearDown.
function H.class()
  return { setUp = H.setUp, tearDown = H.tearDown }
end

-- Collect errors sent to mp.on_error into a list, which it returns.
function H.capture_errors()
  local errors = {}
  mp.on_error(function(msg)
    errors[#errors + 1] = msg
  end)
  return errors
end

-- f(...) must raise "bad argument #n to '...name' (detail...)". Lua names
-- the function by where it finds it (mp.timer or moonport.timer), so only
-- the last part of the name is fixed.
function H.assert_arg_error(n, name, detail, f, ...)
  local ok, msg = pcall(f, ...)
  lu.assertFalse(ok, "no error from " .. name)
  msg = tostring(msg)
  local pattern = "bad argument #" .. n .. " to '[%w_.]*" .. name .. "' %("
  lu.assertStrMatches(msg, ".*" .. pattern .. ".*")
  lu.assertStrContains(msg, detail)
end

-- The system the tests run on. A test that does not apply to Windows, or
-- that finds Wine short of Windows, is skipped through these, with its
-- reason written to stderr ("SKIP (Windows|Wine): file:line: reason"), where
-- .ci/windows counts and lists them. Wine is told by the registry key it
-- creates in every prefix (reg.exe runs once per test file).
H.windows = package.config:sub(1, 1) == "\\"
H.wine = H.windows and os.execute('reg query "HKCU\\Software\\Wine" >NUL 2>NUL') == true

-- Write the SKIP line for the test that called an H.skip_… function, at
-- stack level `level` (debug.getinfo's count: 1 is this function).
local function report_skip(level, system, reason)
  local where = debug.getinfo(level, "Sl")
  local file = where.short_src:match("[^/\\]*$")
  io.stderr:write(string.format("SKIP (%s): %s:%d: %s\n", system, file, where.currentline, reason))
end

local function skip(cond, system, reason)
  if not cond then return end
  report_skip(4, system, reason)
  lu.skip(system .. ": " .. reason)
end

function H.skip_on_windows(reason)
  skip(H.windows, "Windows", reason)
end

-- Skip a whole test file on Windows (a part the port there does not have
-- yet): called at its top, it reports one SKIP line and ends the run
-- there, passed, before the file defines a test.
function H.skip_file_on_windows(reason)
  if not H.windows then return end
  report_skip(3, "Windows", reason)
  os.exit(0, true)
end

function H.skip_on_wine(reason)
  skip(H.wine, "Wine", reason)
end

function H.run_tests()
  os.exit(lu.LuaUnit.run(), true)
end

return H
