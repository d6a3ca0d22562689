-- timers.lua: arm N one-shot timers (default 1,000,000; arg[1]) with delays
-- spread over 0..99 ms (delay = i % 100), all sharing one callback that
-- counts; when the last has fired, print the wall time from before arming
-- to that last fire. Run by the moonport runner:
--   moonport tests/bench/timers.lua [N]
-- Peak RSS is measured from outside (run.sh: /usr/bin/time -f %M).
local mp = require "moonport"

local N = math.tointeger(tonumber(arg and arg[1])) or 1000000
local fired = 0
local start

local function on_fire()
  fired = fired + 1
  if fired == N then
    local elapsed = mp.now() - start
    print(string.format("timers: impl=moonport backend=%s timers=%d elapsed_ms=%.1f", mp.backend(), N,
      elapsed))
  end
end

start = mp.now()
for i = 0, N - 1 do
  mp.timer(i % 100, on_fire)
end
mp.run()
if fired ~= N then
  io.stderr:write(string.format("timers: only %d of %d timers fired\n", fired, N))
  os.exit(1)
end
