-- udp_helper.lua: what the UDP tests (test_udp*.lua) share on top of
-- tcp_helper.lua's scope and failure checks: bound sockets on loopback,
-- a port nobody receives on, and whether IPv6 loopback exists here.
local mp = require "moonport"

local U = {}

U.HOST, U.HOST6 = "127.0.0.1", "::1"

-- A socket bound to host (default HOST) on a port the system picks, added
-- to the scope sc if given; returns it with its host and port.
function U.bound(sc, host, opts)
  local sock = assert(mp.udp.bind(host or U.HOST, 0, opts))
  if sc then sc.add(sock) end
  return sock, sock:local_address()
end

-- A port nobody receives on: one the kernel just handed out and took back.
function U.free_port(host)
  local sock, _, port = U.bound(nil, host)
  sock:close()
  return port
end

-- Whether ::1 can be bound (some containers have no IPv6 loopback).
function U.has_ipv6()
  local sock = mp.udp.bind(U.HOST6, 0)
  if not sock then return false end
  sock:close()
  return true
end

return U
