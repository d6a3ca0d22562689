-- test_dns.lua: mp.dns.resolve (both forms), mp.tcp.connect and UDP's send
-- and connect to names: addresses, numeric hosts, an unresolvable name,
-- cancels, bad input, and a state closed while a resolution runs. Names are localhost and names
-- under .invalid (RFC 6761), which never resolve; traffic stays on
-- 127.0.0.1.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"
local U = require "udp_helper"

TestDns = T.class()

-- A name that cannot resolve. Offline, getaddrinfo answers at once with
-- EAI_NONAME (2-3 ms here) or, with a resolver configured but no network,
-- EAI_AGAIN after its timeout: the tests bound the wait with GUARD_MS and
-- check the shape of the error, not one name.
local INVALID = "moonport-test.invalid"
local GUARD_MS = 20000

-- cb(err, addresses, code) of one resolution, run to the end; returns them.
local function resolve(host, opts)
  local results
  local guard = mp.timer(GUARD_MS, function()
    error("resolve of " .. host .. " did not end")
  end)
  local ok = mp.dns.resolve(host, opts, H.expect(function(...)
    guard:stop()
    results = table.pack(...)
  end, 1))
  lu.assertTrue(ok)
  mp.run()
  return table.unpack(results, 1, 3)
end

local function assert_resolve_error(host, err, code)
  lu.assertStrMatches(code, "EAI_%u+")
  lu.assertStrContains(err, code .. ": resolve '" .. host .. "': ")
  lu.assertTrue(#err > #code + #host + 14, "the resolver's own message: " .. err)
end

function TestDns:test_localhost()
  local err, addresses = resolve("localhost")
  lu.assertNil(err)
  lu.assertTrue(#addresses >= 1)
  local seen = {}
  for _, a in ipairs(addresses) do
    lu.assertTrue(a.family == "inet" or a.family == "inet6")
    lu.assertNil(seen[a.address], "duplicate " .. a.address)
    seen[a.address] = true
  end
  lu.assertTrue(seen["127.0.0.1"] or seen["::1"], "localhost is a loopback address")
end

function TestDns:test_numeric_hosts()
  lu.assertEquals(select(2, resolve("127.0.0.1")), { { address = "127.0.0.1", family = "inet" } })
  lu.assertEquals(select(2, resolve("::1")), { { address = "::1", family = "inet6" } })
end

function TestDns:test_family_option()
  local err, addresses = resolve("localhost", { family = "inet" })
  lu.assertNil(err)
  for _, a in ipairs(addresses) do
    lu.assertEquals(a.family, "inet")
  end
  local msg, _, code = resolve("127.0.0.1", { family = "inet6" })
  assert_resolve_error("127.0.0.1", msg, code)
end

function TestDns:test_unresolvable_name()
  local t0 = mp.now()
  local err, addresses, code = resolve(INVALID)
  lu.assertNil(addresses)
  assert_resolve_error(INVALID, err, code)
  lu.assertTrue(mp.now() - t0 < GUARD_MS)
end

function TestDns:test_coroutine_form()
  local done = H.expect(function() end, 1)
  mp.spawn(function()
    local addresses = mp.dns.resolve("127.0.0.1")
    lu.assertEquals(addresses, { { address = "127.0.0.1", family = "inet" } })
    local ok, err, code = mp.dns.resolve(INVALID, { family = "inet" })
    lu.assertNil(ok)
    assert_resolve_error(INVALID, err, code)
    done()
  end)
  mp.run()
end

function TestDns:test_bad_input_raises()
  local resolve_ = mp.dns.resolve
  H.assert_arg_error(1, "resolve", "host is empty", resolve_, "", H.expect(T.noop, 0))
  H.assert_arg_error(1, "resolve", "NUL", resolve_, "local\0host", T.noop)
  H.assert_arg_error(1, "resolve", "longer than 253", resolve_, ("a"):rep(254), T.noop)
  H.assert_arg_error(1, "resolve", "string expected", resolve_, {}, T.noop)
  local ok, msg = pcall(resolve_, "localhost", { family = "ipx" }, T.noop)
  lu.assertFalse(ok)
  lu.assertStrContains(msg, "invalid option 'ipx'")
  H.assert_arg_error(2, "resolve", "table expected", resolve_, "localhost", 5, T.noop)
  -- Without a callback, outside a coroutine: nothing to wait in.
  ok, msg = pcall(resolve_, "localhost")
  lu.assertFalse(ok)
  lu.assertStrContains(msg, "mp.dns.resolve must be called inside mp.spawn")
  -- 253 bytes is still a name (that does not resolve).
  local err, _, code = resolve(("a"):rep(62) .. "." .. ("b"):rep(60) .. "." .. ("c"):rep(60)
    .. "." .. ("d"):rep(60) .. ".invalid")
  lu.assertNotNil(err)
  lu.assertStrMatches(code, "EAI_%u+")
end

-- A server on 127.0.0.1 that writes "hello" to each client and closes.
local function hello_server(sc)
  local server = sc.add(assert(mp.tcp.listen("127.0.0.1", 0, function(err, conn)
    lu.assertNil(err)
    -- Half-close after "hello", and close only once the client has: a
    -- close with the client's data unread would reset the connection,
    -- racing the client's checks (Windows then has no peer address).
    conn:write("hello")
    conn:shutdown()
    conn:read_start(function(_, data)
      if not data then conn:close() end
    end)
  end)))
  return select(2, server:address())
end

function TestDns:test_connect_to_localhost()
  local sc = T.scope(GUARD_MS)
  local port = hello_server(sc)
  local conn = mp.tcp.connect("localhost", port, H.expect(function(err, c)
    lu.assertNil(err)
    lu.assertEquals(c:peer(), "127.0.0.1")
    T.read_all(c, function(data)
      lu.assertEquals(data, "hello")
      sc.done()
    end)
  end, 1))
  sc.add(conn)
  -- A write before the connection exists waits for it, as with addresses.
  lu.assertTrue(conn:write("queued"))
  sc.run()
end

function TestDns:test_connect_coroutine_form()
  local sc = T.scope(GUARD_MS)
  local port = hello_server(sc)
  local done = H.expect(function() end, 1)
  mp.spawn(function()
    local sock = sc.add(assert(mp.tcp.connect("localhost", port, { timeout = GUARD_MS })))
    lu.assertEquals(sock:read(5), "hello")
    local ok, err, code = mp.tcp.connect(INVALID, port)
    lu.assertNil(ok)
    assert_resolve_error(INVALID, err, code)
    done()
    sc.done()
  end)
  sc.run()
end

function TestDns:test_connect_to_unresolvable_name()
  local conn = mp.tcp.connect(INVALID, 80, H.expect(function(err, c, code)
    lu.assertNil(c)
    assert_resolve_error(INVALID, err, code)
  end, 1))
  lu.assertFalse(conn:closed())
  mp.run()
  lu.assertTrue(conn:closed())
end

function TestDns:test_connect_refused_after_resolving()
  mp.tcp.connect("localhost", T.free_port(), H.expect(function(err, c, code)
    lu.assertNil(c)
    lu.assertEquals(code, "ECONNREFUSED")
    lu.assertStrContains(err, "ECONNREFUSED: connect: ")
  end, 1))
  mp.run()
end

-- Closed while resolving: the callback comes once, with ECANCELED.
function TestDns:test_close_during_resolve()
  for _ = 1, 20 do
    local conn = mp.tcp.connect("localhost", 9, H.expect(function(err, c, code)
      lu.assertNil(c)
      lu.assertEquals(code, "ECANCELED")
      lu.assertEquals(err, "ECANCELED: connect: operation cancelled")
    end, 1))
    conn:close()
  end
  mp.run()
end

function TestDns:test_connect_bad_host_raises()
  local connect = mp.tcp.connect
  H.assert_arg_error(1, "connect", "host is empty", connect, "", 80, T.noop)
  H.assert_arg_error(1, "connect", "NUL", connect, "a\0b", 80, T.noop)
  H.assert_arg_error(1, "connect", "longer than 253", connect, ("a"):rep(300), 80, T.noop)
  H.assert_arg_error(2, "connect", "port must be", connect, "localhost", 70000, T.noop)
end

-- UDP: a datagram to a name waits its turn in the send queue while the
-- name resolves, so datagrams to names and to numbers keep their order.
function TestDns:test_udp_send_to_names_in_order()
  local sc = T.scope(GUARD_MS)
  local a = U.bound(sc)
  local b, _, port = U.bound(sc)
  local msgs, got, sent = { "1", "2", "3", "4" }, {}, 0
  b:recv_start(H.expect(function(err, data, from)
    lu.assertNil(err)
    lu.assertEquals(from, U.HOST)
    got[#got + 1] = data
    if #got == #msgs then sc.done() end
  end, #msgs))
  local function on_sent(err)
    lu.assertNil(err)
    sent = sent + 1
  end
  lu.assertTrue(a:send("1", "localhost", port, on_sent))
  lu.assertTrue(a:send("2", U.HOST, port)) -- queued behind the name: no callback
  lu.assertTrue(a:send("3", "localhost", port))
  lu.assertTrue(a:send("4", U.HOST, port, on_sent))
  sc.run()
  lu.assertEquals(got, msgs)
  lu.assertEquals(sent, 2)
end

-- A name that does not resolve fails its own datagram, with the resolver's
-- error; the queue goes on with the next one.
function TestDns:test_udp_send_to_unresolvable_name()
  local sc = T.scope(GUARD_MS)
  local a = U.bound(sc)
  local b, _, port = U.bound(sc)
  b:recv(H.expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "after")
    sc.done()
  end, 1))
  local t0 = mp.now()
  lu.assertTrue(a:send("lost", INVALID, port, H.expect(function(err, code)
    assert_resolve_error(INVALID, err, code)
  end, 1)))
  lu.assertTrue(a:send("lost too", INVALID, port)) -- only a callback would hear
  lu.assertTrue(a:send("after", U.HOST, port))
  sc.run()
  lu.assertTrue(mp.now() - t0 < GUARD_MS)
end

function TestDns:test_udp_connect_to_localhost()
  local sc = T.scope(GUARD_MS)
  local a = U.bound(sc)
  local b, _, port = U.bound(sc)
  b:recv(H.expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "connected")
    sc.done()
  end, 1))
  lu.assertTrue(a:connect("localhost", port, H.expect(function(err)
    lu.assertNil(err)
    lu.assertTrue(a:send("connected"))
  end, 1)))
  sc.run()
end

function TestDns:test_udp_connect_coroutine_form()
  local sc = T.scope(GUARD_MS)
  local a = U.bound(sc)
  local b, _, port = U.bound(sc)
  local done = H.expect(function() end, 1)
  mp.spawn(function()
    lu.assertTrue(a:connect("localhost", port))
    lu.assertTrue(a:send("hi"))
    lu.assertEquals(b:recv(), "hi")
    local ok, err, code = a:connect(INVALID, port)
    lu.assertNil(ok)
    assert_resolve_error(INVALID, err, code)
    -- The name did not resolve: the socket keeps its peer.
    lu.assertTrue(a:send("still"))
    lu.assertEquals(b:recv(), "still")
    done()
    sc.done()
  end)
  sc.run()
end

-- Closed while names resolve: each callback comes once, with ECANCELED.
function TestDns:test_udp_close_during_resolve()
  for _ = 1, 10 do
    local a = U.bound()
    a:send("x", "localhost", 9, H.expect(function(err, code)
      lu.assertEquals(code, "ECANCELED")
      lu.assertStrContains(err, "ECANCELED: ")
    end, 1))
    a:send("y", U.HOST, 9, H.expect(function(err, code)
      lu.assertEquals({ err, code }, { "ECANCELED: send: operation cancelled", "ECANCELED" })
    end, 1))
    a:connect("localhost", 9, H.expect(function(err, code)
      lu.assertEquals(code, "ECANCELED")
      lu.assertStrContains(err, "ECANCELED: ")
    end, 1))
    a:close()
  end
  mp.run()
end

function TestDns:test_udp_bad_host_raises()
  local a = U.bound()
  H.assert_arg_error(2, "send", "host is empty", function() return a:send("x", "", 9) end)
  H.assert_arg_error(2, "send", "NUL", function() return a:send("x", "a\0b", 9, T.noop) end)
  H.assert_arg_error(1, "connect", "longer than 253", function()
    return a:connect(("a"):rep(300), 9, T.noop)
  end)
  -- Outside a coroutine, a name without a callback has nothing to wait in.
  H.assert_arg_error(1, "connect", "needs a callback", function()
    return a:connect("localhost", 9)
  end)
  a:close()
end

-- The state closes while resolutions run (os.exit closes it): the work
-- threads finish them and nothing is left behind (ASan's leak check runs
-- in the child of a sanitized build).
function TestDns:test_state_closes_during_resolve()
  local ok, how, code, output = T.run_child([[
    local mp = require "moonport"
    for i = 1, 20 do
      mp.dns.resolve(i % 2 == 0 and "localhost" or "moonport-test.invalid", function() end)
      mp.tcp.connect("localhost", 9, function() end)
      local sock = mp.udp.bind("127.0.0.1", 0)
      sock:send("x", "localhost", 9)
      sock:connect("moonport-test.invalid", 9, function() end)
    end
    os.exit(0, true)
  ]])
  lu.assertEquals({ ok, how, code }, { true, "exit", 0 }, output)
  lu.assertEquals(output, "")
end

H.run_tests()
