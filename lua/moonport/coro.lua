-- coro.lua: what the coroutine layer shares between modules: resuming a
-- coroutine with its errors reported, and finding the coroutine to suspend.
local core = require "moonport.core"

local coro = {}

local running = coroutine.running
local resume = coroutine.resume
local traceback = debug.traceback

-- Resume co; an error inside it goes to mp.on_error with the coroutine's
-- own traceback, like an error in any callback.
function coro.step(co, ...)
  local ok, err = resume(co, ...)
  if not ok then
    core.report_error(traceback(co, tostring(err)))
  end
end

-- The coroutine calling a waiting function, or an error if there is none
-- to suspend (the main chunk, or a plain callback). The error is raised at
-- `level` as error() counts it from the caller of current (default 2: the
-- caller of the waiting function).
function coro.current(what, level)
  local co, main = running()
  if main then
    error(what .. " must be called inside mp.spawn", (level or 2) + 1)
  end
  return co
end

return coro
