-- test_tcp.lua: mp.tcp in the callback form, getting connected and reading:
-- listen, connect and accept with the errors each one promises, addresses,
-- bad arguments and options, reading and read timeouts, connection options
-- (writing, shutdown and closing: test_tcp_write.lua). Only 127.0.0.1 and
-- ::1 are used: a connect that never completes is made against a local
-- server whose accept queue is full.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"

TestTcp = T.class()

local HOST, noop, free_port = T.HOST, T.noop, T.free_port
local scope, pair, live, countdown, read_all, assert_fail =
  T.scope, T.pair, T.live, T.countdown, T.read_all, T.assert_fail

-- n bytes in which every byte shows where it belongs: numbered lines.
local function pattern(n)
  local lines = {}
  for i = 1, n // 8 + 1 do
    lines[i] = string.format("%07d\n", i)
  end
  return table.concat(lines):sub(1, n)
end

-- A server that never accepts, its accept queue full (backlog 1, and
-- clients until one of them times out): a new client's SYN is dropped, so
-- its connect stays in progress. ready(host, port) once it is full.
local function stalled_server(sc, ready)
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, { backlog = 1 })))
  local host, port = server:address()
  local timed_out = 0
  local fillers = 3
  local all = countdown(fillers, function()
    lu.assertTrue(timed_out > 0, "the accept queue did not fill up")
    ready(host, port)
  end)
  for _ = 1, fillers do
    sc.add(mp.tcp.connect(host, port, function(err, _, code)
      if err then
        lu.assertEquals(code, "ETIMEDOUT")
        timed_out = timed_out + 1
      end
      all()
    end, { timeout = 150 }))
  end
end

-- --- Listening and connecting ----------------------------------------------

-- Connect to a server on host, check the addresses each end sees, and
-- echo one message.
local function check_listen_connect(host, expect_host)
  local sc = scope(5000)
  local echoed
  local server = pair(sc, function(client, accepted)
    local chost, cport = client:local_address()
    local phost, pport = accepted:peer()
    lu.assertEquals({ phost, pport }, { chost, cport })
    lu.assertEquals({ client:peer() }, { accepted:local_address() })
    lu.assertEquals(chost, expect_host)
    accepted:read_start(live(accepted, function(err, data)
      lu.assertNil(err)
      accepted:write(data)
    end))
    client:write("hello")
    client:read(H.expect(function(err, data)
      lu.assertNil(err)
      echoed = data
      sc.done()
    end, 1))
  end, { host = host })
  local shost, sport = server:address()
  lu.assertEquals(shost, expect_host)
  lu.assertEquals(math.type(sport), "integer")
  lu.assertTrue(sport > 0 and sport <= 65535, "port " .. sport)
  sc.run()
  lu.assertEquals(echoed, "hello")
end

function TestTcp:test_listen_ipv4_port_0_and_connect()
  check_listen_connect("127.0.0.1", "127.0.0.1")
end

function TestTcp:test_listen_ipv6_port_0_and_connect()
  local probe, _, code = mp.tcp.listen("::1", 0)
  if not probe and (code == "EADDRNOTAVAIL" or code == "EAFNOSUPPORT") then
    lu.skip("this machine has no IPv6 loopback")
  end
  probe:close()
  check_listen_connect("::1", "::1")
end

function TestTcp:test_localhost_is_127_0_0_1()
  check_listen_connect("localhost", "127.0.0.1")
end

function TestTcp:test_listen_on_a_port_in_use_fails()
  local server = assert(mp.tcp.listen(HOST, 0, noop))
  local _, port = server:address()
  -- Both servers must ask for reuseport: the first one did not. Windows
  -- has no reuseport at all.
  assert_fail(H.windows and "ENOSYS" or "EADDRINUSE",
    mp.tcp.listen(HOST, port, noop, { reuseport = true }))
  assert_fail("EADDRINUSE", mp.tcp.listen(HOST, port, noop))
  assert_fail("EADDRINUSE", mp.tcp.listen(HOST, port))
  server:close()
end

function TestTcp:test_reuseport_lets_two_servers_share_a_port()
  H.skip_on_windows("no SO_REUSEPORT (SO_REUSEADDR there lets any socket take a port over)")
  local sc = scope(5000)
  local clients = 8
  local accepted = { 0, 0 }
  local finish = countdown(clients, sc.done)
  local function on_connection(i)
    return function(err, conn)
      lu.assertNil(err)
      sc.add(conn)
      accepted[i] = accepted[i] + 1
      finish()
    end
  end
  local first = sc.add(assert(mp.tcp.listen(HOST, 0, on_connection(1), { reuseport = true })))
  local host, port = first:address()
  local second = sc.add(assert(mp.tcp.listen(HOST, port, on_connection(2), { reuseport = true })))
  lu.assertEquals({ second:address() }, { host, port })
  assert_fail("EADDRINUSE", mp.tcp.listen(HOST, port, noop))
  for _ = 1, clients do
    sc.add(mp.tcp.connect(host, port, H.expect(function(err)
      lu.assertNil(err)
    end, 1)))
  end
  sc.run()
  lu.assertEquals(accepted[1] + accepted[2], clients)
end

-- A server that accepts only when asked keeps at most backlog + 1 (Linux)
-- handshaken connections waiting; the SYNs of later clients are dropped
-- and their connects time out.
function TestTcp:test_backlog_bounds_the_connections_waiting_for_accept()
  local sc = scope(5000)
  local clients = 4
  local results = {}
  local finish = countdown(2, sc.done)
  local function try(backlog)
    local server = sc.add(assert(mp.tcp.listen(HOST, 0, { backlog = backlog })))
    local host, port = server:address()
    local r = { ok = 0, timed_out = 0 }
    results[backlog or "default"] = r
    local each = countdown(clients, finish)
    for _ = 1, clients do
      sc.add(mp.tcp.connect(host, port, H.expect(function(err, _, code)
        if err then
          lu.assertEquals(code, "ETIMEDOUT")
          r.timed_out = r.timed_out + 1
        else
          r.ok = r.ok + 1
        end
        each()
      end, 1), { timeout = 300 }))
    end
  end
  try(1)
  try(nil)
  sc.run()
  lu.assertEquals(results.default, { ok = clients, timed_out = 0 })
  lu.assertTrue(results[1].ok >= 1 and results[1].ok <= 2, "connected with backlog 1: " .. results[1].ok)
  lu.assertEquals(results[1].ok + results[1].timed_out, clients)
end

-- listen takes addresses (and localhost) only; connect resolves names
-- (test_dns.lua).
function TestTcp:test_listen_on_a_name_fails_with_eai_noname()
  assert_fail("EAI_NONAME", mp.tcp.listen("no.such.host", 0, noop))
  assert_fail("EAI_NONAME", mp.tcp.listen("256.1.1.1", 0))
  mp.run()
end

function TestTcp:test_bad_arguments_raise()
  local tcp = mp.tcp
  local function listen(...)
    local args = table.pack(...)
    return function()
      return tcp.listen(table.unpack(args, 1, args.n))
    end
  end
  local function connect(...)
    local args = table.pack(...)
    return function()
      return tcp.connect(table.unpack(args, 1, args.n))
    end
  end
  H.assert_arg_error(2, "listen", "port must be 0-65535", listen(HOST, -1, noop))
  H.assert_arg_error(2, "listen", "port must be 0-65535", listen(HOST, 65536, noop))
  H.assert_arg_error(2, "listen", "number has no integer representation", listen(HOST, 1.5, noop))
  H.assert_arg_error(2, "listen", "number expected, got string", listen(HOST, "http", noop))
  H.assert_arg_error(2, "listen", "number expected, got no value", listen(HOST))
  H.assert_arg_error(2, "listen", "number expected, got table", listen(HOST, {}, noop))
  H.assert_arg_error(1, "listen", "string expected, got nil", listen(nil, 0, noop))
  H.assert_arg_error(1, "listen", "string expected, got table", listen({}, 0, noop))
  H.assert_arg_error(1, "listen", "string expected, got boolean", listen(true, 0, noop))
  H.assert_arg_error(3, "listen", "function expected, got number", listen(HOST, 0, 5))
  H.assert_arg_error(2, "connect", "port must be 0-65535", connect(HOST, 65536, noop))
  H.assert_arg_error(2, "connect", "port must be 0-65535", connect(HOST, -1, noop))
  H.assert_arg_error(2, "connect", "number has no integer representation", connect(HOST, 80.5, noop))
  H.assert_arg_error(2, "connect", "number expected, got nil", connect(HOST, nil, noop))
  H.assert_arg_error(1, "connect", "string expected, got nil", connect(nil, 80, noop))
  H.assert_arg_error(3, "connect", "expected, got number", connect(HOST, 80, 5))
  -- Outside a coroutine, connect without a callback cannot wait.
  lu.assertFalse(pcall(connect(HOST, 80)))
  mp.run()
end

function TestTcp:test_bad_options_raise()
  local function bad(option, opts, ...)
    local ok, err = pcall(mp.tcp.listen, HOST, 0, noop, opts)
    lu.assertFalse(ok, "listen took " .. option)
    lu.assertStrContains(tostring(err), ...)
    ok, err = pcall(mp.tcp.connect, HOST, 9, noop, opts)
    lu.assertFalse(ok, "connect took " .. option)
    lu.assertStrContains(tostring(err), ...)
  end
  bad("a string", "fast", "table expected, got string")
  bad("a number", 5, "table expected, got number")
  bad("backlog 0", { backlog = 0 }, "bad option 'backlog'")
  bad("backlog 65536", { backlog = 65536 }, "bad option 'backlog'")
  bad("backlog 1.5", { backlog = 1.5 }, "bad option 'backlog'")
  bad("backlog 'x'", { backlog = "x" }, "bad option 'backlog'")
  bad("high_water 0", { high_water = 0 }, "bad option 'high_water'")
  bad("write_limit -1", { write_limit = -1 }, "bad option 'write_limit'")
  bad("read_timeout -1", { read_timeout = -1 }, "bad option 'read_timeout'")
  bad("write_timeout true", { write_timeout = true }, "bad option 'write_timeout'")
  bad("timeout 'soon'", { timeout = "soon" }, "bad option 'timeout'")
  bad("timeout of a year", { timeout = 365 * 24 * 3600 * 1000 }, "bad option 'timeout'")
  mp.run()
end

function TestTcp:test_connect_refused()
  local sc = scope(5000)
  local got
  local conn = sc.add(mp.tcp.connect(HOST, free_port(), H.expect(function(...)
    got = table.pack(...)
    mp.timer(20, sc.done) -- room for a second call, which must not come
  end, 1)))
  lu.assertStrContains(tostring(conn), "moonport.tcp")
  sc.run()
  lu.assertEquals(got[1], "ECONNREFUSED: connect: connection refused")
  lu.assertNil(got[2])
  lu.assertEquals(got[3], "ECONNREFUSED")
end

-- No answer within opts.timeout: the callback gets ETIMEDOUT, once.
function TestTcp:test_connect_timeout()
  local sc = scope(5000)
  local got, elapsed
  stalled_server(sc, function(host, port)
    local start = mp.now()
    sc.add(mp.tcp.connect(host, port, H.expect(function(...)
      elapsed = mp.now() - start
      got = table.pack(...)
      mp.timer(50, sc.done) -- room for a second call, which must not come
    end, 1), { timeout = 100 }))
  end)
  sc.run()
  lu.assertEquals(got.n, 3)
  lu.assertEquals(got[1], "ETIMEDOUT: connect: timed out")
  lu.assertNil(got[2])
  lu.assertEquals(got[3], "ETIMEDOUT")
  lu.assertTrue(elapsed >= 95, "timed out early: " .. elapsed .. " ms")
  lu.assertTrue(elapsed < 1000, "timed out late: " .. elapsed .. " ms")
end

-- Closing a connect in progress: its callback gets an error, once; so does
-- closing one whose handshake the kernel has finished but whose callback
-- has not run yet.
function TestTcp:test_close_while_connecting()
  local sc = scope(5000)
  local results = {}
  local finish = countdown(2, function()
    mp.timer(50, sc.done)
  end)
  local function connect_and_close(host, port)
    local conn = mp.tcp.connect(host, port, H.expect(function(...)
      results[#results + 1] = table.pack(...)
      finish()
    end, 1))
    conn:close()
    lu.assertTrue(conn:closed())
  end
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(_, conn)
    if conn then sc.add(conn) end
  end)))
  connect_and_close(server:address())
  stalled_server(sc, connect_and_close)
  sc.run()
  lu.assertEquals(#results, 2)
  for _, r in ipairs(results) do
    assert_fail("ECANCELED", nil, r[1], r[3])
    lu.assertNil(r[2])
  end
end

function TestTcp:test_accept_when_asked()
  local sc = scope(5000)
  local server = sc.add(assert(mp.tcp.listen(HOST, 0)))
  local host, port = server:address()
  local client_port, peer_port, cancelled
  lu.assertTrue(server:accept(H.expect(function(err, conn)
    lu.assertNil(err)
    sc.add(conn)
    peer_port = select(2, conn:peer())
    -- The next accept finds nobody; closing the server ends it, once.
    server:accept(H.expect(function(...)
      cancelled = table.pack(...)
    end, 1))
    server:close()
    mp.timer(50, sc.done)
  end, 1)))
  lu.assertErrorMsgContains("already accepting", server.accept, server, noop)
  sc.add(mp.tcp.connect(host, port, H.expect(function(err, conn)
    lu.assertNil(err)
    client_port = select(2, conn:local_address())
  end, 1)))
  sc.run()
  lu.assertEquals(peer_port, client_port)
  assert_fail("ECANCELED", nil, cancelled[1], cancelled[3])
  lu.assertNil(cancelled[2])
  assert_fail("ECLOSED", server:accept(noop))

  local busy = assert(mp.tcp.listen(HOST, 0, noop))
  lu.assertErrorMsgContains("accepts by itself", busy.accept, busy, noop)
  lu.assertErrorMsgContains("function expected", busy.accept, busy, 5)
  busy:close()
end

-- --- Reading -------------------------------------------------------------------

function TestTcp:test_read_start_gets_every_chunk_then_eof_once()
  local sc = scope(5000)
  local chunks, eofs = {}, 0
  local data = pattern(300 * 1024)
  pair(sc, function(client, accepted)
    accepted:write("first ")
    accepted:write(data)
    accepted:shutdown()
    client:read_start(function(err, chunk)
      lu.assertNil(err)
      if chunk then
        lu.assertEquals(eofs, 0, "data after EOF")
        chunks[#chunks + 1] = chunk
      else
        eofs = eofs + 1
        mp.timer(30, sc.done) -- room for a second EOF, which must not come
      end
    end)
  end)
  sc.run()
  lu.assertEquals(eofs, 1)
  lu.assertEquals(table.concat(chunks), "first " .. data)
end

-- The peer's data and its FIN are both waiting before we read: the data
-- comes, then EOF.
function TestTcp:test_eof_waiting_behind_data_is_seen()
  local sc = scope(5000)
  local got
  pair(sc, function(client, accepted)
    accepted:write("hello")
    accepted:close()
    mp.timer(50, function()
      read_all(client, function(data)
        got = data
        sc.done()
      end)
    end)
  end)
  sc.run()
  lu.assertEquals(got, "hello")
end

-- read(cb) takes one chunk and stops; read_start later gets the rest.
function TestTcp:test_read_takes_one_chunk_then_read_start_gets_the_rest()
  local sc = scope(5000)
  local rest = pattern(200 * 1024)
  local first, got
  pair(sc, function(client, accepted)
    accepted:write("one")
    lu.assertTrue(client:read(H.expect(function(err, chunk)
      lu.assertNil(err)
      first = chunk
      accepted:write(rest)
      accepted:shutdown()
      -- Reading has stopped: nothing comes until it starts again.
      mp.timer(50, function()
        read_all(client, function(all)
          got = all
          sc.done()
        end)
      end)
    end, 1)))
  end)
  sc.run()
  lu.assertEquals(first, "one")
  lu.assertEquals(got, rest)
end

function TestTcp:test_read_stop_then_read_start_loses_nothing()
  local sc = scope(5000)
  local data = pattern(512 * 1024)
  local parts = {}
  local calls_while_stopped
  pair(sc, function(client, accepted)
    accepted:write(data)
    accepted:shutdown()
    local on_data = live(client, function(err, chunk)
      lu.assertNil(err)
      if not chunk then return sc.done() end
      parts[#parts + 1] = chunk
    end)
    client:read_start(function(err, chunk)
      on_data(err, chunk)
      if #parts == 1 then
        lu.assertTrue(client:read_stop())
        local seen = #parts
        mp.timer(50, function()
          calls_while_stopped = #parts - seen
          client:read_start(on_data)
        end)
      end
    end)
  end)
  sc.run()
  lu.assertEquals(calls_while_stopped, 0)
  lu.assertEquals(#table.concat(parts), #data)
  lu.assertEquals(table.concat(parts), data)
end

function TestTcp:test_second_reader_raises()
  local sc = scope(5000)
  pair(sc, function(client)
    lu.assertTrue(client:read_start(noop))
    lu.assertErrorMsgContains("already reading", client.read_start, client, noop)
    lu.assertErrorMsgContains("already reading", client.read, client, noop)
    lu.assertTrue(client:read_stop())
    lu.assertTrue(client:read(noop))
    lu.assertErrorMsgContains("already reading", client.read_start, client, noop)
    lu.assertErrorMsgContains("already reading", client.read, client, noop)
    lu.assertTrue(client:read_stop())
    lu.assertTrue(client:read_stop(), "read_stop when not reading is fine")
    lu.assertErrorMsgContains("function expected", client.read_start, client, 5)
    lu.assertErrorMsgContains("function expected", client.read_start, client)
    sc.done()
  end)
  sc.run()
end

-- --- Options and addresses --------------------------------------------------

function TestTcp:test_nodelay_and_keepalive()
  local sc = scope(5000)
  pair(sc, function(client, accepted)
    lu.assertTrue(client:nodelay(true))
    lu.assertTrue(client:nodelay(false))
    lu.assertTrue(accepted:nodelay(true))
    lu.assertTrue(client:keepalive(true, 30))
    lu.assertTrue(client:keepalive(true))
    lu.assertTrue(client:keepalive(false))
    lu.assertErrorMsgContains("boolean expected, got no value", client.nodelay, client)
    lu.assertErrorMsgContains("boolean expected, got string", client.nodelay, client, "yes")
    lu.assertErrorMsgContains("seconds out of range", client.keepalive, client, true, -1)
    lu.assertErrorMsgContains("number expected, got string", client.keepalive, client, true, "x")
    sc.done()
  end)
  sc.run()
end

function TestTcp:test_set_timeouts_arguments()
  local sc = scope(5000)
  pair(sc, function(client)
    lu.assertTrue(client:set_timeouts({ read = 100, write = 100 }))
    lu.assertTrue(client:set_timeouts({ read = 0 }))
    lu.assertTrue(client:set_timeouts({}))
    lu.assertErrorMsgContains("bad option", client.set_timeouts, client, { read = -1 })
    lu.assertErrorMsgContains("bad option", client.set_timeouts, client, { write = 1.5 })
    lu.assertErrorMsgContains("bad option", client.set_timeouts, client, { read = "soon" })
    lu.assertErrorMsgContains("table expected, got string", client.set_timeouts, client, "fast")
    sc.done()
  end)
  sc.run()
end

-- --- Read timeouts -------------------------------------------------------------

function TestTcp:test_read_timeout_once_then_reading_can_start_again()
  local sc = scope(5000)
  local timeout, late
  pair(sc, function(client, accepted)
    lu.assertTrue(client:set_timeouts({ read = 50 }))
    local start = mp.now()
    client:read_start(H.expect(function(err, data, code)
      timeout = { err = err, data = data, code = code, elapsed = mp.now() - start }
      -- Reading has stopped; wait for a second call that must not come,
      -- then read again, without the timeout.
      mp.timer(100, function()
        client:set_timeouts({ read = 0 })
        client:read_start(live(client, H.expect(function(e, d)
          lu.assertNil(e)
          late = d
          sc.done()
        end, 1)))
        accepted:write("late")
      end)
    end, 1))
  end)
  sc.run()
  assert_fail("ETIMEDOUT", timeout.data, timeout.err, timeout.code)
  lu.assertStrMatches(timeout.err, "ETIMEDOUT: read: .+")
  lu.assertTrue(timeout.elapsed >= 45, "timed out early: " .. timeout.elapsed)
  lu.assertTrue(timeout.elapsed < 1000, "timed out late: " .. timeout.elapsed)
  lu.assertEquals(late, "late")
end

-- Data keeps a read timeout away; it fires once data stops coming.
function TestTcp:test_read_timeout_counts_from_the_last_data()
  local sc = scope(5000)
  local got, since_last, timeout = {}, nil, nil
  pair(sc, function(client, accepted)
    local last = mp.now()
    client:read_start(function(err, data, code)
      if data then
        got[#got + 1] = data
        last = mp.now()
        return
      end
      timeout = { err = err, code = code }
      since_last = mp.now() - last
      sc.done()
    end)
    local n = 0
    mp.every(25, function(t)
      n = n + 1
      accepted:write(tostring(n))
      if n == 6 then t:stop() end
    end)
    -- 200 ms: eight ticks, room for a loaded machine (or Wine) to be late.
  end, { client = { read_timeout = 200 } })
  sc.run()
  lu.assertEquals(table.concat(got), "123456")
  assert_fail("ETIMEDOUT", nil, timeout.err, timeout.code)
  lu.assertTrue(since_last >= 195, "timed out " .. since_last .. " ms after the last data")
end

function TestTcp:test_read_timeout_of_listen_options_applies_to_accepted_connections()
  local sc = scope(5000)
  local codes = {}
  pair(sc, function(_, accepted)
    accepted:read_start(H.expect(function(err, _, code)
      lu.assertNotNil(err)
      codes[#codes + 1] = code
      mp.timer(50, sc.done)
    end, 1))
  end, { server = { read_timeout = 40 } })
  sc.run()
  lu.assertEquals(codes, { "ETIMEDOUT" })
end

function TestTcp:test_read_timeout_turned_off_while_reading()
  local sc = scope(5000)
  pair(sc, function(client)
    client:read_start(live(client, H.expect(noop, 0)))
    client:set_timeouts({ read = 0 })
    mp.timer(150, sc.done)
  end, { client = { read_timeout = 40 } })
  sc.run()
end

H.run_tests()
