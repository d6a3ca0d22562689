-- timers_luv.lua: the reference for timers.lua, on luv (libuv) in a stock
-- lua5.4. Same work: N one-shot timers (default 1,000,000; arg[1]) with
-- delays i % 100 ms, one shared counting function; print the wall time from
-- before arming to the last fire.
--   lua5.4 tests/bench/timers_luv.lua [N]
-- One-shot timers the way luv users write them: uv.new_timer(), start with
-- repeat 0, close the handle in its callback. A luv timer callback gets no
-- arguments, so closing its own handle needs a small closure per timer,
-- which then calls the one shared counting function.
local uv = require "luv"

local N = math.tointeger(tonumber(arg and arg[1])) or 1000000
local fired = 0
local start

local function on_fire()
  fired = fired + 1
  if fired == N then
    local elapsed = (uv.hrtime() - start) / 1e6
    print(string.format("timers: impl=luv backend=libuv timers=%d elapsed_ms=%.1f", N, elapsed))
  end
end

start = uv.hrtime()
for i = 0, N - 1 do
  local timer = uv.new_timer()
  timer:start(i % 100, 0, function()
    timer:close()
    on_fire()
  end)
end
uv.run()
if fired ~= N then
  io.stderr:write(string.format("timers: only %d of %d timers fired\n", fired, N))
  os.exit(1)
end
