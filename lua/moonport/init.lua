-- moonport: the module scripts require. The C core (moonport.core) gives
-- the loop, timers and errors; this file adds what is better said in Lua:
-- the coroutine layer.
local core = require "moonport.core"

local mp = {}
for name, value in pairs(core) do
  mp[name] = value
end

local running = coroutine.running
local resume = coroutine.resume
local yield = coroutine.yield
local traceback = debug.traceback

-- Resume co; an error inside it goes to mp.on_error with the coroutine's
-- own traceback, like an error in any callback.
local function step(co, ...)
  local ok, err = resume(co, ...)
  if not ok then
    core.report_error(traceback(co, tostring(err)))
  end
end

-- mp.spawn(fn, ...) -> coroutine: run fn(...) as a coroutine, now, until
-- its first wait. Inside it, waiting calls (mp.sleep) suspend only it.
function mp.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(fn) .. ")", 2)
  end
  local co = coroutine.create(fn)
  step(co, ...)
  return co
end

-- The coroutine calling a waiting function, or an error if there is none
-- to suspend (the main chunk, or a plain callback).
local function current(what)
  local co, main = running()
  if main then
    error(what .. " must be called inside mp.spawn", 3)
  end
  return co
end

-- mp.sleep(ms): suspend the calling coroutine for ms milliseconds.
function mp.sleep(ms)
  local co = current("mp.sleep")
  core.timer(ms, function()
    step(co)
  end)
  yield()
end

return mp
