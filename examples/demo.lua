-- demo.lua: a short tour of moonport. Run it with: build/moonport examples/demo.lua
-- It grows with the project; for now it shows the loop, timers, coroutines
-- and error handling, and exits by itself when nothing is left to wait for.
local mp = require "moonport"

local start = mp.now()
local function say(fmt, ...)
  print(string.format("[%6.1f ms] " .. fmt, mp.now() - start, ...))
end

say("moonport %s on the %s port with %d worker threads", mp.version, mp.backend(), mp.workers())

-- Callback style: one-shot and repeating timers. Each expiry travels from
-- the timer thread through the completion port to this thread.
mp.timer(30, function() say("one-shot timer fired after 30 ms") end)

local laps = 0
mp.every(10, function(t)
  laps = laps + 1
  say("every 10 ms: lap %d", laps)
  if laps == 3 then
    t:stop()
    say("repeating timer stopped")
  end
end)

-- Coroutine style: the same waits, written straight down.
mp.spawn(function()
  for i = 1, 2 do
    mp.sleep(15)
    say("coroutine woke up (%d of 2)", i)
  end
end)

-- An error in a callback neither crashes the loop nor vanishes: it goes to
-- the error handler (default: stderr) with its traceback.
mp.on_error(function(message)
  say("error handler got: %s", message:match("^[^\n]*"))
end)
mp.timer(40, function() error("a callback failed on purpose") end)

mp.timer(50, function() say("nothing left to wait for: the runner exits") end)
