-- test_udp_coro.lua: the coroutine form of UDP (lua/moonport/udp.lua):
-- recv and send without a callback inside mp.spawn, their failures, and
-- misuse. Traffic goes to 127.0.0.1 and ::1 only.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"
local U = require "udp_helper"

TestUdpCoro = T.class()

-- Run f in a coroutine; it must finish without an error within 5 s (else
-- the scope closes its sockets, which ends every wait).
local function spawn(sc, f)
  mp.spawn(function()
    f()
    sc.done()
  end)
  sc.run()
end

function TestUdpCoro.test_send_and_recv()
  local sc = T.scope(5000)
  local a, _, a_port = U.bound(sc)
  local b, b_host, b_port = U.bound(sc)
  spawn(sc, function()
    lu.assertTrue(a:send("ping", b_host, b_port))
    local data, host, port, flags = b:recv()
    lu.assertEquals({ data, host, port, flags }, { "ping", U.HOST, a_port, nil })
    lu.assertTrue(b:send("pong", host, port))
    lu.assertEquals(a:recv(), "pong")
  end)
end

function TestUdpCoro.test_ipv6()
  if not U.has_ipv6() then lu.skip("this machine has no IPv6 loopback") end
  local sc = T.scope(5000)
  local a, host, port = U.bound(sc, U.HOST6)
  spawn(sc, function()
    lu.assertTrue(a:send("self", host, port))
    local data, from, from_port = a:recv()
    lu.assertEquals({ data, from, from_port }, { "self", U.HOST6, port })
  end)
end

function TestUdpCoro.test_truncated_flag()
  local sc = T.scope(5000)
  local a, host, port = U.bound(sc, nil, { recv_size = 3 })
  spawn(sc, function()
    lu.assertTrue(a:send("abcdef", host, port))
    local data, _, _, flags = a:recv()
    lu.assertEquals(data, "abc")
    lu.assertEquals(flags, { truncated = true })
  end)
end

function TestUdpCoro.test_connected_refused()
  -- The ICMP error comes before the receive starts: Linux keeps it for the
  -- next receive, Wine loses it (that receive would block).
  H.skip_on_wine("Wine loses a connected UDP socket's ICMP error that comes while no receive waits")
  local sc = T.scope(5000)
  local a = U.bound(sc)
  lu.assertTrue(a:connect(U.HOST, U.free_port()))
  spawn(sc, function()
    lu.assertTrue(a:send("anyone?"))
    T.assert_fail("ECONNREFUSED", a:recv())
  end)
end

function TestUdpCoro.test_failures()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  spawn(sc, function()
    T.assert_fail("EMSGSIZE", a:send(string.rep("x", 65508), U.HOST, 9))
    T.assert_fail("EAI_NONAME", a:send("x", "nowhere", 9))
    local ok, err, code = a:send("x", U.HOST, 0) -- the kernel refuses port 0
    T.assert_fail("EINVAL", ok, err, code)
    -- A recv waiting when the socket closes ends with ECANCELED.
    mp.timer(10, function()
      a:close()
    end)
    T.assert_fail("ECANCELED", a:recv())
    T.assert_fail("ECLOSED", a:recv())
    T.assert_fail("ECLOSED", a:send("x", U.HOST, 9))
  end)
end

-- Outside a coroutine, recv without a callback raises; send without one
-- is the callback form without a callback: queued, nobody told.
function TestUdpCoro.test_outside_a_coroutine()
  local sc = T.scope(5000)
  local a = U.bound(sc)
  local b, host, port = U.bound(sc)
  lu.assertErrorMsgContains("must be called inside mp.spawn", function()
    return b:recv()
  end)
  H.assert_arg_error(1, "recv", "function expected, got number", function()
    return b:recv(5)
  end)
  lu.assertTrue(a:send("fire and forget", host, port))
  b:recv(H.expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "fire and forget")
    sc.done()
  end, 1))
  sc.run()
end

H.run_tests()
