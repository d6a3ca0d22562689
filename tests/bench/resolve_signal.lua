-- resolve_signal.lua: latencies of name resolution and signal delivery,
-- as medians of N rounds (default 200; arg[1]), one at a time:
--   resolve  mp.dns.resolve(host) to its callback, for "127.0.0.1",
--            "localhost" (/etc/hosts) and a name under .invalid (which
--            never resolves: EAI_NONAME or EAI_AGAIN, as the resolver says);
--   signal   SIGUSR1 sent to this process by kill(1) (os.execute: plain
--            Lua has no kill), from os.execute's return to the Lua
--            callback; the signal itself came while kill(1) ran, so this
--            is the hand-off: handler, delivery thread, port, callback.
-- Run by the moonport runner:
--   moonport tests/bench/resolve_signal.lua [N]
local mp = require "moonport"

local N = math.tointeger(tonumber(arg and arg[1])) or 200

local function median(samples)
  table.sort(samples)
  return samples[(#samples + 1) // 2]
end

local results = {}

local function report(what, samples, note)
  results[#results + 1] = string.format("%s: median_ms=%.3f max_ms=%.3f%s", what, median(samples),
    math.max(table.unpack(samples)), note or "")
end

mp.spawn(function()
  for _, host in ipairs({ "127.0.0.1", "localhost", "moonport-bench.invalid" }) do
    local samples, code = {}, nil
    for i = 1, N do
      local t0 = mp.now()
      local _, _, c = mp.dns.resolve(host)
      samples[i] = mp.now() - t0
      code = c
    end
    report("resolve " .. host, samples, code and " (" .. code .. ")" or "")
  end
  local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)")
  local samples = {}
  local co = coroutine.running()
  local h = mp.signal("SIGUSR1", function()
    coroutine.resume(co, mp.now())
  end)
  for i = 1, math.min(N, 50) do
    os.execute("kill -USR1 " .. pid)
    local t1 = mp.now()
    local got = coroutine.yield()
    samples[i] = math.max(got - t1, 0)
  end
  h:stop()
  report("signal", samples)
end)
mp.run()
for _, line in ipairs(results) do
  print(line)
end
