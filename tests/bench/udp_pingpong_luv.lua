-- udp_pingpong_luv.lua: the reference for udp_pingpong.lua, on luv (libuv)
-- in a stock lua5.4: the same two sockets, D datagrams of S bytes in
-- flight, round trips per second over T seconds after a 0.2 s warm-up.
--   lua5.4 tests/bench/udp_pingpong_luv.lua [T=2] [D=16] [S=64]
local uv = require "luv"

local T = tonumber(arg and arg[1]) or 2
local D = math.tointeger(tonumber(arg and arg[2])) or 16
local S = math.tointeger(tonumber(arg and arg[3])) or 64

local a, b = uv.new_udp(), uv.new_udp()
assert(a:bind("127.0.0.1", 0))
assert(b:bind("127.0.0.1", 0))
local b_port = b:getsockname().port
local payload = string.rep("x", S)
local count, start, stopped = 0, nil, false

b:recv_start(function(err, data, addr)
  assert(not err, err)
  if data then b:send(data, addr.ip, addr.port) end
end)
a:recv_start(function(err, data)
  assert(not err, err)
  if stopped or not data then return end
  if start then count = count + 1 end
  a:send(data, "127.0.0.1", b_port)
end)
for _ = 1, D do
  a:send(payload, "127.0.0.1", b_port)
end
local warmup = uv.new_timer()
warmup:start(200, 0, function()
  warmup:close()
  start = uv.hrtime()
  local done = uv.new_timer()
  done:start(math.floor(T * 1000), 0, function()
    done:close()
    stopped = true
    local elapsed = (uv.hrtime() - start) / 1e9
    print(string.format("udp: impl=luv backend=libuv inflight=%d size=%d round_trips_per_s=%.0f",
      D, S, count / elapsed))
    a:close()
    b:close()
  end)
end)
uv.run()
