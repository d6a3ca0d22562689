-- udp_echo.lua: a UDP echo server: every datagram goes back to its sender.
--   moonport examples/udp_echo.lua [port] [host]    (default 7002 127.0.0.1; port 0 picks one)
-- Prints "listening on HOST PORT" once bound. A datagram longer than 64 KiB
-- less the headers cannot arrive, so every one comes back whole; a sender
-- that has gone away is not told anything (the reply is simply lost).
local mp = require "moonport"

local port_arg, host_arg = ...
local port = math.tointeger(tonumber(port_arg or 7002))
local host = host_arg or "127.0.0.1"
if not port then
  io.stderr:write("usage: moonport udp_echo.lua [port] [host]\n")
  os.exit(2)
end

local sock, err = mp.udp.bind(host, port)
if not sock then
  io.stderr:write("udp_echo: ", err, "\n")
  os.exit(1)
end
print("listening on " .. table.concat({ sock:local_address() }, " "))
io.stdout:flush()

-- The send queue is bounded (send_queue_limit): when a burst fills it, the
-- datagrams that do not fit are dropped, as a network would drop them.
sock:recv_start(function(recv_err, data, from, from_port)
  if data then
    sock:send(data, from, from_port)
  else
    io.stderr:write("udp_echo: ", recv_err, "\n")
  end
end)
