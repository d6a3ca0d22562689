-- udp_pingpong.lua: UDP round trips through the loop, both ends in this
-- process on 127.0.0.1: socket A keeps D datagrams of S bytes in flight to
-- socket B, which sends each back; A sends a new one for each that returns.
-- After a warm-up of 0.2 s, count round trips for T seconds and print them.
--   moonport tests/bench/udp_pingpong.lua [T=2] [D=16] [S=64]
-- Each round trip is two sends and two receives through the port, so this
-- measures the per-datagram cost of the UDP path (no other process runs).
local mp = require "moonport"

local T = tonumber(arg and arg[1]) or 2
local D = math.tointeger(tonumber(arg and arg[2])) or 16
local S = math.tointeger(tonumber(arg and arg[3])) or 64

local a = assert(mp.udp.bind("127.0.0.1", 0))
local b = assert(mp.udp.bind("127.0.0.1", 0))
local b_host, b_port = b:local_address()
local payload = string.rep("x", S)
local count, start, stopped = 0, nil, false

b:recv_start(function(err, data, host, port)
  if stopped then return end -- the close's ECANCELED too
  assert(not err, err)
  b:send(data, host, port)
end)
a:recv_start(function(err, data)
  if stopped then return end
  assert(not err, err)
  if start then count = count + 1 end
  a:send(data, b_host, b_port)
end)
for _ = 1, D do
  a:send(payload, b_host, b_port)
end
mp.timer(200, function()
  start = mp.now()
  mp.timer(T * 1000, function()
    stopped = true
    local elapsed = (mp.now() - start) / 1000
    print(string.format("udp: impl=moonport backend=%s inflight=%d size=%d round_trips_per_s=%.0f",
      mp.backend(), D, S, count / elapsed))
    a:close()
    b:close()
  end)
end)
