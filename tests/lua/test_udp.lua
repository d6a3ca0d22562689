-- test_udp.lua: mp.udp in the callback form: datagrams both ways on IPv4
-- and IPv6 loopback, truncation, closed ports, connected sockets, the send
-- queue's bound, options (broadcast, multicast, reuseaddr, ipv6only),
-- closing and bad input. Traffic goes to 127.0.0.1 and ::1 only.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"
local U = require "udp_helper"

TestUdp = T.class()

-- a sends each of msgs to b; b's recv_start gets them all, in order (on
-- loopback nothing is lost or reordered), with a's address.
local function round_trip(host, msgs)
  local sc = T.scope(5000)
  local a, _, a_port = U.bound(sc, host)
  local b, b_host, b_port = U.bound(sc, host)
  lu.assertEquals(b_host, host)
  local got = {}
  b:recv_start(H.expect(function(err, data, from, port, flags)
    lu.assertNil(err)
    lu.assertEquals(from, host)
    lu.assertEquals(port, a_port)
    lu.assertNil(flags)
    got[#got + 1] = data
    if #got == #msgs then sc.done() end
  end, #msgs))
  local sent = 0
  for _, m in ipairs(msgs) do
    lu.assertTrue(a:send(m, b_host, b_port, function(err)
      lu.assertNil(err)
      sent = sent + 1
    end))
  end
  sc.run()
  lu.assertEquals(got, msgs)
  lu.assertEquals(sent, #msgs)
end

function TestUdp.test_ipv4_round_trip()
  local msgs = { "", "one", string.rep("x", 1000), string.rep("\0\255", 30000) }
  for i = 1, 50 do
    msgs[#msgs + 1] = "datagram " .. i
  end
  round_trip(U.HOST, msgs)
end

function TestUdp.test_ipv6_round_trip()
  if not U.has_ipv6() then lu.skip("this machine has no IPv6 loopback") end
  round_trip(U.HOST6, { "six", string.rep("y", 65527) })
end

function TestUdp.test_localhost()
  local sc = T.scope(5000)
  local b, host, port = U.bound(sc, "localhost")
  lu.assertEquals(host, U.HOST)
  b:recv(H.expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "hi")
    sc.done()
  end, 1))
  local a = U.bound(sc)
  a:send("hi", "localhost", port)
  sc.run()
end

-- recv takes one datagram; the next waits for the next recv.
function TestUdp.test_recv_once_then_stop()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  local b, host, port = U.bound(sc)
  a:send("1", host, port)
  a:send("2", host, port)
  b:recv(H.expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "1")
    mp.timer(20, function()
      b:recv_start(H.expect(function(err2, data2)
        lu.assertNil(err2)
        lu.assertEquals(data2, "2")
        lu.assertTrue(b:recv_stop())
        mp.timer(20, sc.done) -- nothing more comes after the stop
        a:send("3", host, port)
      end, 1))
    end)
  end, 1))
  sc.run()
end

function TestUdp.test_already_receiving_raises()
  local sc = T.scope(5000)
  local b = U.bound(sc)
  b:recv(T.noop)
  lu.assertErrorMsgContains("already receiving", b.recv, b, T.noop)
  lu.assertErrorMsgContains("already receiving", b.recv_start, b, T.noop)
  b:recv_stop()
  sc.done()
  sc.run()
end

-- A datagram longer than recv_size arrives cut, flagged truncated; the
-- next one is whole.
function TestUdp.test_truncation()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  local b, host, port = U.bound(sc, nil, { recv_size = 8 })
  local got = {}
  b:recv_start(H.expect(function(err, data, _, _, flags)
    lu.assertNil(err)
    got[#got + 1] = { data, flags and flags.truncated or false }
    if #got == 3 then sc.done() end
  end, 3))
  a:send("0123456789abcdef", host, port)
  a:send("12345678", host, port)
  a:send("short", host, port)
  sc.run()
  lu.assertEquals(got, { { "01234567", true }, { "12345678", false }, { "short", false } })
end

-- Unconnected, a datagram to a closed port is sent and lost: nobody is
-- told (Linux reports the ICMP error to connected sockets only).
function TestUdp.test_closed_port_unconnected()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  a:recv(H.expect(function(err)
    lu.assertStrContains(err, "ECANCELED") -- only the close ends it
  end, 1))
  a:send("lost", U.HOST, U.free_port(), H.expect(function(err)
    lu.assertNil(err)
    mp.timer(100, sc.done)
  end, 1))
  sc.run()
end

-- Connected, the peer's "port unreachable" comes back as ECONNREFUSED on
-- the next receive (and the socket goes on working).
function TestUdp.test_closed_port_connected()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  lu.assertTrue(a:connect(U.HOST, U.free_port()))
  a:recv_start(H.expect(function(err, data, code)
    T.assert_fail("ECONNREFUSED", data, err, code)
    lu.assertStrContains(err, "recv")
    sc.done()
  end, 1))
  a:send("anyone?", nil, nil, H.expect(function(err)
    lu.assertNil(err)
  end, 1))
  sc.run()
end

-- A connected socket sends without an address and hears only its peer.
function TestUdp.test_connected_peer()
  local sc = T.scope(5000)
  local a, _, a_port = U.bound(sc)
  local b, b_host, b_port = U.bound(sc)
  local other = U.bound(sc)
  lu.assertTrue(a:connect(b_host, b_port))
  lu.assertTrue(b:connect(U.HOST, a_port))
  b:recv_start(H.expect(function(err, data, host, port)
    lu.assertNil(err)
    lu.assertEquals({ data, host, port }, { "from a", U.HOST, a_port })
    sc.done()
  end, 1))
  other:send("from other", b_host, b_port)
  mp.timer(20, function()
    a:send("from a")
  end)
  sc.run()
end

-- The queue refuses what would pass send_queue_limit (each datagram is
-- charged its length and a fixed overhead); what it took is all sent.
-- Sends with a callback queue (the callback comes from the completion);
-- one without, on an idle socket, goes straight out and is never refused.
function TestUdp.test_send_queue_limit()
  local sc = T.scope(5000)
  local a = U.bound(sc, nil, { send_queue_limit = 2000 })
  local b, host, port = U.bound(sc)
  T.assert_fail("ENOBUFS", a:send(string.rep("z", 2000), host, port, T.noop))
  lu.assertTrue(a:send(string.rep("z", 2000), host, port))
  local accepted, refused, sent = 0, nil, 0
  for _ = 1, 100 do
    local ok, err, code = a:send(string.rep("q", 100), host, port, function(e)
      lu.assertNil(e)
      sent = sent + 1
    end)
    if not ok then
      refused = { ok, err, code }
      break
    end
    accepted = accepted + 1
  end
  lu.assertNotNil(refused, "the queue took 100 datagrams at a limit of 2000 bytes")
  T.assert_fail("ENOBUFS", table.unpack(refused, 1, 3))
  lu.assertTrue(accepted >= 1)
  local got = 0
  b:recv_start(function(_, data)
    got = got + 1
    if got == 1 then lu.assertEquals(#data, 2000) end
    if got == accepted + 1 then sc.done() end
  end)
  sc.run()
  lu.assertEquals(sent, accepted)
  lu.assertEquals(got, accepted + 1)
end

function TestUdp.test_options()
  local sc = T.scope(5000)
  local a = U.bound(sc, nil, { broadcast = true })
  lu.assertTrue(a:set_broadcast(false))
  -- Without SO_BROADCAST the kernel refuses a broadcast destination
  -- itself: nothing leaves the machine.
  a:send("x", "255.255.255.255", 9, H.expect(function(err, code)
    T.assert_fail("EACCES", nil, err, code)
    sc.done()
  end, 1))
  lu.assertTrue(a:set_multicast_ttl(1))
  lu.assertTrue(a:set_multicast_ttl(255))
  lu.assertTrue(a:set_multicast_loop(false))
  lu.assertTrue(a:set_multicast_loop(true))
  H.assert_arg_error(1, "set_broadcast", "boolean expected", function()
    return a:set_broadcast(1)
  end)
  H.assert_arg_error(1, "set_multicast_ttl", "ttl must be 1-255", function()
    return a:set_multicast_ttl(0)
  end)
  H.assert_arg_error(1, "set_multicast_ttl", "ttl must be 1-255", function()
    return a:set_multicast_ttl(256)
  end)
  H.assert_arg_error(1, "set_multicast_loop", "boolean expected", function()
    return a:set_multicast_loop("yes")
  end)
  sc.run()
end

-- Join a group on the loopback interface, send to it through loopback,
-- receive our own datagram (multicast loop), leave.
function TestUdp.test_multicast_ipv4()
  local sc = T.scope(5000)
  local group = "239.255.77.77"
  local r, _, port = U.bound(sc, "0.0.0.0", { reuseaddr = true })
  local ok, err = r:join_group(group, U.HOST)
  if not ok then
    sc.done()
    sc.run()
    lu.skip("cannot join a multicast group on loopback here: " .. err)
  end
  lu.assertTrue(r:set_multicast_interface(U.HOST))
  lu.assertTrue(r:set_multicast_loop(true))
  local got, left
  local guard = mp.timer(1000, sc.done) -- no multicast route: nothing arrives
  r:recv(function(e, data)
    lu.assertNil(e)
    got = data
    left = r:leave_group(group, U.HOST)
    guard:stop()
    sc.done()
  end)
  r:send("to the group", group, port)
  sc.run()
  if not got then lu.skip("no multicast delivery over loopback on this machine") end
  lu.assertEquals(got, "to the group")
  lu.assertTrue(left)
end

function TestUdp.test_multicast_join_leave()
  local sc = T.scope(5000)
  local a = U.bound(sc, "0.0.0.0")
  local ok, err = a:join_group("239.255.77.78", U.HOST)
  if not ok then
    sc.done()
    sc.run()
    lu.skip("cannot join a multicast group on loopback here: " .. err)
  end
  lu.assertTrue(a:leave_group("239.255.77.78", U.HOST))
  lu.assertTrue(a:join_group("239.255.77.79"))
  lu.assertTrue(a:leave_group("239.255.77.79"))
  H.assert_arg_error(1, "join_group", "numeric IPv4 or IPv6", function()
    return a:join_group("not.a.group")
  end)
  H.assert_arg_error(2, "join_group", "IPv4 address", function()
    return a:join_group("239.1.1.1", "lo")
  end)
  if U.has_ipv6() then
    local six = U.bound(sc, "::")
    -- Interfaces by name are the system's names: "lo" on Linux; Windows
    -- has names like "loopback_0", and index 1 is loopback on both.
    local ok6, err6 = six:join_group("ff02::1:3", H.windows and 1 or "lo")
    if ok6 then
      lu.assertTrue(six:leave_group("ff02::1:3", 1))
    else
      lu.assertStrContains(err6, "join_group")
    end
    H.assert_arg_error(2, "join_group", "no such interface", function()
      return six:join_group("ff02::1:3", "no-such-if0")
    end)
  end
  sc.done()
  sc.run()
end

-- Leaving a group not joined is the kernel's EADDRNOTAVAIL.
function TestUdp.test_leave_not_joined()
  H.skip_on_wine("Wine passes Linux's EADDRNOTAVAIL on as STATUS_INVALID_PARAMETER (EINVAL)")
  local a = U.bound(nil, "0.0.0.0")
  local ok, err = a:join_group("239.255.77.78", U.HOST)
  if not ok then
    a:close()
    lu.skip("cannot join a multicast group on loopback here: " .. err)
  end
  lu.assertTrue(a:leave_group("239.255.77.78", U.HOST))
  T.assert_fail("EADDRNOTAVAIL", a:leave_group("239.255.77.78", U.HOST))
  a:close()
end

function TestUdp.test_reuseaddr()
  local sc = T.scope(5000)
  local _, _, port = U.bound(sc, U.HOST, { reuseaddr = true })
  sc.add(assert(mp.udp.bind(U.HOST, port, { reuseaddr = true })))
  T.assert_fail("EADDRINUSE", mp.udp.bind(U.HOST, port))
  sc.done()
  sc.run()
end

function TestUdp.test_ipv6only()
  if not U.has_ipv6() then lu.skip("this machine has no IPv6 loopback") end
  local sc = T.scope(5000)
  local _, _, port = U.bound(sc, "::", { ipv6only = true })
  -- The IPv4 side of the port is free, as it is not without ipv6only.
  sc.add(assert(mp.udp.bind("0.0.0.0", port)))
  local _, _, port2 = U.bound(sc, "::")
  T.assert_fail("EADDRINUSE", mp.udp.bind("0.0.0.0", port2))
  sc.done()
  sc.run()
end

function TestUdp.test_close_with_recv_in_flight()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  a:recv(H.expect(function(err, data, code)
    T.assert_fail("ECANCELED", data, err, code)
    lu.assertTrue(a:closed())
  end, 1))
  mp.timer(10, function()
    a:close()
    a:close() -- idempotent: still one callback
    sc.done()
  end)
  sc.run()
end

-- A datagram the kernel took before the close still reports success.
function TestUdp.test_close_after_send()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  local b, host, port = U.bound(sc)
  a:send("last", host, port, H.expect(function(err)
    lu.assertNil(err)
  end, 1))
  a:close()
  b:recv(H.expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "last")
    sc.done()
  end, 1))
  sc.run()
end

function TestUdp.test_use_after_close()
  local a = U.bound()
  a:close()
  lu.assertTrue(a:closed())
  lu.assertStrContains(tostring(a), "moonport.udp (closed)")
  T.assert_fail("ECLOSED", a:send("x", U.HOST, 9))
  T.assert_fail("ECLOSED", a:recv(T.noop))
  T.assert_fail("ECLOSED", a:recv_start(T.noop))
  T.assert_fail("ECLOSED", a:recv_stop())
  T.assert_fail("ECLOSED", a:local_address())
  T.assert_fail("ECLOSED", a:connect(U.HOST, 9))
  T.assert_fail("ECLOSED", a:set_broadcast(true))
  T.assert_fail("ECLOSED", a:join_group("239.1.1.1"))
end

-- A call of mp.udp.bind(...) for assert_arg_error.
local function bind(...)
  local args = table.pack(...)
  return function()
    return mp.udp.bind(table.unpack(args, 1, args.n))
  end
end

-- An IPv6 destination for an IPv4 socket: the kernel's EAFNOSUPPORT, as
-- send's own result.
function TestUdp.test_send_wrong_family()
  H.skip_on_wine("Wine passes Linux's EAFNOSUPPORT on as STATUS_NOT_SUPPORTED (ENOSYS)")
  local a = U.bound()
  T.assert_fail("EAFNOSUPPORT", a:send("x", U.HOST6, 9))
  a:close()
end

function TestUdp.test_bad_input()
  local a = U.bound()
  -- bind takes addresses and localhost; send and connect resolve names
  -- (test_dns.lua).
  T.assert_fail("EAI_NONAME", mp.udp.bind("no such host", 0))
  T.assert_fail("EAI_NONAME", mp.udp.bind("256.1.1.1", 0))
  -- Without a callback, what the kernel refuses at once is send's result.
  T.assert_fail("EINVAL", a:send("x", U.HOST, 0))
  T.assert_fail("ENOTCONN", a:send("x")) -- no address and no peer
  T.assert_fail("ENOTCONN", a:send("x", nil, nil, T.noop))
  H.assert_arg_error(2, "bind", "port must be 0-65535", bind(U.HOST, 65536))
  H.assert_arg_error(2, "bind", "port must be 0-65535", bind(U.HOST, -1))
  H.assert_arg_error(2, "bind", "number expected", bind(U.HOST, "x"))
  H.assert_arg_error(1, "bind", "string expected", bind(nil, 0))
  H.assert_arg_error(3, "bind", "table expected", bind(U.HOST, 0, 5))
  lu.assertErrorMsgContains("bad option 'recv_size'", mp.udp.bind, U.HOST, 0, { recv_size = 0 })
  lu.assertErrorMsgContains("bad option 'recv_size'", mp.udp.bind, U.HOST, 0,
    { recv_size = 65537 })
  lu.assertErrorMsgContains("bad option 'broadcast'", mp.udp.bind, U.HOST, 0, { broadcast = 1 })
  lu.assertErrorMsgContains("bad option 'send_queue_limit'", mp.udp.bind, U.HOST, 0,
    { send_queue_limit = -1 })
  H.assert_arg_error(1, "send", "string expected, got number", function()
    return a:send(5, U.HOST, 9)
  end)
  H.assert_arg_error(1, "send", "string expected, got table", function()
    return a:send({ "x" }, U.HOST, 9)
  end)
  H.assert_arg_error(3, "send", "port must be 0-65535", function()
    return a:send("x", U.HOST, 70000)
  end)
  H.assert_arg_error(4, "send", "function expected", function()
    return a:send("x", U.HOST, 9, "cb")
  end)
  H.assert_arg_error(1, "recv_start", "function expected", function()
    return a:recv_start()
  end)
  -- The largest datagram UDP carries: 65507 bytes over IPv4.
  local err = select(2, a:send(string.rep("x", 65508), U.HOST, 9))
  T.assert_fail("EMSGSIZE", a:send(string.rep("x", 65508), U.HOST, 9))
  lu.assertStrContains(err, "65507")
  -- An IPv4 socket cannot send to an IPv6 address: the send's own error.
  a:send("x", U.HOST6, 9, H.expect(function(e, code)
    lu.assertNotNil(e)
    lu.assertStrContains(e, "send")
    lu.assertStrContains(e, code)
  end, 1))
  mp.run()
  a:close()
end

function TestUdp.test_send_to_port_zero_fails_in_callback()
  local a = U.bound()
  a:send("x", U.HOST, 0, H.expect(function(err, code)
    lu.assertNotNil(err)
    lu.assertEquals(code, "EINVAL")
    a:close()
  end, 1))
end

-- A socket nobody refers to is collected and closed; one that receives
-- stays until it stops.
function TestUdp.test_gc()
  local weak = setmetatable({}, { __mode = "v" })
  weak[1] = U.bound()
  collectgarbage("collect")
  lu.assertNil(weak[1])
  local b, host, port = U.bound()
  weak[2] = b
  b:recv(H.expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "kept")
  end, 1))
  b = nil -- luacheck: ignore 311
  collectgarbage("collect")
  lu.assertNotNil(weak[2])
  local a = U.bound()
  a:send("kept", host, port)
  mp.run()
  a:close()
  collectgarbage("collect")
  lu.assertNil(weak[2])
end

function TestUdp.test_to_be_closed()
  local kept
  do
    local a <close> = U.bound()
    kept = a
  end
  lu.assertTrue(kept:closed())
end

H.run_tests()
