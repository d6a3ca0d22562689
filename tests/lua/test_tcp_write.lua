-- test_tcp_write.lua: mp.tcp in the callback form, sending and ending:
-- write and its answers at high water, drain, write callbacks, the write
-- limit, shutdown, closing (use after close, pending callbacks, a server
-- closed under its connections) and the write timeout. Connecting and
-- reading are in test_tcp.lua.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"

TestTcpWrite = T.class()

local HOST, STUCK, noop = T.HOST, T.STUCK, T.noop
local scope, pair, live, countdown, read_all, fill, assert_fail =
  T.scope, T.pair, T.live, T.countdown, T.read_all, T.fill, T.assert_fail

-- --- Writing -------------------------------------------------------------------

function TestTcpWrite:test_write_is_true_below_high_water_false_from_it_and_drain_follows()
  local sc = scope(10000)
  local high = 4096
  local chunk = string.rep("w", 64 * 1024)
  local answers, drained, received, written = {}, 0, 0, 0
  local finish = countdown(2, function()
    mp.timer(30, sc.done) -- room for a second drain, which must not come
  end)
  pair(sc, function(client, accepted)
    lu.assertTrue(client:write(""))
    lu.assertTrue(client:write("x"))
    lu.assertEquals(client:write_queue_size(), 0)
    written = 1
    for _ = 1, 1000 do
      local ok = client:write(chunk)
      written = written + #chunk
      answers[#answers + 1] = { ok = ok, queued = client:write_queue_size() }
      if not ok then break end
    end
    lu.assertTrue(client:on_drain(function()
      drained = drained + 1
      lu.assertEquals(client:write_queue_size(), 0)
      finish()
    end))
    accepted:read_start(live(accepted, function(err, data)
      lu.assertNil(err)
      received = received + #data
      if received == written then finish() end
    end))
  end, { client = { high_water = high } })
  sc.run()
  lu.assertFalse(answers[#answers].ok, "write never returned false")
  for i, a in ipairs(answers) do
    lu.assertEquals(a.ok, a.queued < high, "write " .. i .. " with " .. a.queued .. " bytes queued")
  end
  lu.assertEquals(drained, 1)
  lu.assertEquals(received, written)
end

function TestTcpWrite:test_write_callbacks_come_once_in_order()
  local sc = scope(5000)
  local order, got = {}, nil
  pair(sc, function(client, accepted)
    local function mark(name)
      return H.expect(function(err)
        lu.assertNil(err)
        order[#order + 1] = name
      end, 1)
    end
    lu.assertTrue(client:write("a", mark("a")))
    lu.assertTrue(client:write("b", mark("b")))
    lu.assertTrue(client:write({ "c", "d" }, mark("cd")))
    lu.assertTrue(client:write("", mark("empty")))
    lu.assertTrue(client:shutdown(mark("shutdown")))
    read_all(accepted, function(data)
      got = data
      mp.timer(20, sc.done)
    end)
  end)
  sc.run()
  lu.assertEquals(order, { "a", "b", "cd", "empty", "shutdown" })
  lu.assertEquals(got, "abcd")
end

function TestTcpWrite:test_write_an_array_of_strings()
  local sc = scope(5000)
  local got
  pair(sc, function(client, accepted)
    lu.assertTrue(client:write({ "GET ", "/", " HTTP/1.0\r\n", "", "\r\n" }))
    lu.assertTrue(client:write({}))
    client:shutdown()
    read_all(accepted, function(data)
      got = data
      sc.done()
    end)
  end)
  sc.run()
  lu.assertEquals(got, "GET / HTTP/1.0\r\n\r\n")
end

function TestTcpWrite:test_write_of_anything_but_strings_raises()
  local sc = scope(5000)
  pair(sc, function(client)
    lu.assertErrorMsgContains("string or array of strings expected, got number", client.write, client, 42)
    lu.assertErrorMsgContains("string or array of strings expected, got nil", client.write, client, nil)
    lu.assertErrorMsgContains("string or array of strings expected, got boolean", client.write, client, true)
    lu.assertErrorMsgContains("item 2 is not a string", client.write, client, { "a", 5 })
    lu.assertErrorMsgContains("item 1 is not a string", client.write, client, { {} })
    lu.assertErrorMsgContains("function expected", client.write, client, "x", 5)
    lu.assertEquals(client:write_queue_size(), 0)
    lu.assertErrorMsgContains("function expected", client.on_drain, client, 5)
    lu.assertTrue(client:on_drain(nil))
    lu.assertErrorMsgContains("function expected", client.shutdown, client, 5)
    sc.done()
  end)
  sc.run()
end

-- Data that would take the queue past write_limit is refused whole:
-- nil, "ENOBUFS...", and it is neither queued nor sent.
function TestTcpWrite:test_write_limit_refuses_data_and_queues_none_of_it()
  local sc = scope(10000)
  local limit = 64 * 1024
  local chunk = string.rep("a", 16 * 1024)
  local refused, queued_before, queued_after, got, accepted_bytes
  pair(sc, function(client, accepted)
    accepted_bytes = fill(client, chunk)
    while client:write_queue_size() + #chunk <= limit do
      lu.assertFalse(client:write(chunk), "over high water")
      accepted_bytes = accepted_bytes + #chunk
    end
    queued_before = client:write_queue_size()
    refused = table.pack(client:write(string.rep("R", #chunk)))
    queued_after = client:write_queue_size()
    local room = limit - queued_after
    lu.assertFalse(client:write(string.rep("b", room)), "data that fits is taken")
    accepted_bytes = accepted_bytes + room
    lu.assertEquals(client:write_queue_size(), limit)
    assert_fail("ENOBUFS", client:write("c"))
    client:shutdown()
    read_all(accepted, function(data)
      got = data
      sc.done()
    end)
  end, { client = { high_water = 1024, write_limit = limit } })
  sc.run()
  assert_fail("ENOBUFS", refused[1], refused[2], refused[3])
  lu.assertStrContains(refused[2], "write queue full")
  lu.assertEquals(queued_after, queued_before)
  lu.assertEquals(#got, accepted_bytes)
  lu.assertNil(got:find("R", 1, true), "refused data was sent")
end

function TestTcpWrite:test_shutdown_half_closes()
  local sc = scope(5000)
  local after_shutdown, second_shutdown, server_got, client_got, shut_err
  pair(sc, function(client, accepted)
    lu.assertTrue(client:write("ping"))
    lu.assertTrue(client:shutdown(H.expect(function(err)
      shut_err = err
    end, 1)))
    after_shutdown = table.pack(client:write("more"))
    second_shutdown = table.pack(client:shutdown())
    read_all(accepted, function(data)
      server_got = data
      -- We saw EOF, yet the other way is open: answer.
      lu.assertFalse(accepted:closed())
      accepted:write("pong")
      accepted:shutdown()
    end)
    read_all(client, function(data)
      client_got = data
      sc.done()
    end)
  end)
  sc.run()
  lu.assertNil(shut_err)
  lu.assertEquals(server_got, "ping")
  lu.assertEquals(client_got, "pong")
  assert_fail("ECLOSED", after_shutdown[1], after_shutdown[2], after_shutdown[3])
  lu.assertNil(second_shutdown[1], "shutdown twice")
  lu.assertNotNil(second_shutdown[2])
end

-- --- Closing -------------------------------------------------------------------

function TestTcpWrite:test_use_after_close_fails_with_eclosed()
  local sc = scope(5000)
  local conn
  pair(sc, function(client)
    conn = client
    sc.done()
  end)
  sc.run()
  lu.assertTrue(conn:closed())
  lu.assertStrContains(tostring(conn), "moonport.tcp (closed)")
  assert_fail("ECLOSED", conn:write("x"))
  assert_fail("ECLOSED", conn:write("x", noop))
  assert_fail("ECLOSED", conn:read_start(noop))
  assert_fail("ECLOSED", conn:read(noop))
  assert_fail("ECLOSED", conn:read_stop())
  assert_fail("ECLOSED", conn:peer())
  assert_fail("ECLOSED", conn:local_address())
  assert_fail("ECLOSED", conn:shutdown())
  assert_fail("ECLOSED", conn:on_drain(noop))
  assert_fail("ECLOSED", conn:nodelay(true))
  assert_fail("ECLOSED", conn:keepalive(true, 30))
  assert_fail("ECLOSED", conn:set_timeouts({ read = 10 }))
  local ok, err = conn:write("x")
  lu.assertNil(ok)
  lu.assertEquals(err, "ECLOSED: write: closed")
  lu.assertEquals(conn:write_queue_size(), 0)
  conn:close()
  conn:close()
  lu.assertTrue(conn:closed())

  local server = assert(mp.tcp.listen(HOST, 0, noop))
  server:close()
  server:close()
  assert_fail("ECLOSED", server:address())
  assert_fail("ECLOSED", server:accept(noop))
end

function TestTcpWrite:test_to_be_closed_variables_close()
  local sc = scope(5000)
  local server_ref, conn_ref
  do
    local server <close> = assert(mp.tcp.listen(HOST, 0, noop))
    server_ref = server
  end
  lu.assertStrContains(tostring(server_ref), "(closed)")
  pair(sc, function(client)
    do
      local conn <close> = client
      conn_ref = conn
    end
    sc.done()
  end)
  sc.run()
  lu.assertTrue(conn_ref:closed())
end

function TestTcpWrite:test_close_inside_a_read_callback()
  local sc = scope(5000)
  local got
  pair(sc, function(client, accepted)
    accepted:write(string.rep("z", 1024 * 1024), function() end)
    client:read_start(H.expect(function(err, data)
      got = { err = err, data = data }
      client:close()
      lu.assertTrue(client:closed())
      mp.timer(50, sc.done) -- room for more read callbacks, which must not come
    end, 1))
  end)
  sc.run()
  lu.assertNil(got.err)
  lu.assertTrue(#got.data > 0)
end

-- The contract: after close, a pending read callback gets nothing more.
-- A read pending at close ends like every started read: with one callback,
-- here "ECANCELED", and nothing after it.
function TestTcpWrite:test_close_while_reading_ends_the_read_once_with_ecanceled()
  local sc = scope(5000)
  local calls = {}
  pair(sc, function(client)
    client:read_start(function(...)
      calls[#calls + 1] = table.pack(...)
    end)
    client:close()
    mp.timer(50, sc.done)
  end)
  sc.run()
  lu.assertEquals(#calls, 1)
  lu.assertStrContains(calls[1][1], "ECANCELED: read:")
  lu.assertNil(calls[1][2])
  lu.assertEquals(calls[1][3], "ECANCELED")
end

function TestTcpWrite:test_close_fails_each_pending_write_callback_once()
  local sc = scope(5000)
  local results = {}
  pair(sc, function(client)
    fill(client, string.rep("f", 256 * 1024), STUCK)
    for i = 1, 3 do
      lu.assertNotNil(client:write("pending " .. i, H.expect(function(err, code)
        results[#results + 1] = { i = i, err = err, code = code }
      end, 1)))
    end
    lu.assertTrue(client:shutdown(H.expect(function(err, code)
      results[#results + 1] = { i = "shutdown", err = err, code = code }
    end, 1)))
    client:close()
    mp.timer(50, sc.done)
  end)
  sc.run()
  lu.assertEquals(#results, 4)
  for k, r in ipairs(results) do
    lu.assertEquals(r.i, k < 4 and k or "shutdown")
    assert_fail("ECANCELED", nil, r.err, r.code)
  end
end

function TestTcpWrite:test_server_close_keeps_its_connections()
  local sc = scope(5000)
  local server
  server = pair(sc, function(client, accepted)
    server:close()
    lu.assertStrContains(tostring(server), "moonport.tcp_server (closed)")
    read_all(accepted, function(data)
      lu.assertEquals(data, "still here")
      accepted:write("and here", function(err)
        lu.assertNil(err)
        accepted:close()
      end)
    end)
    client:write("still here")
    client:shutdown()
    read_all(client, function(data)
      lu.assertEquals(data, "and here")
      sc.done()
    end)
  end)
  lu.assertStrContains(tostring(server), "moonport.tcp_server (open)")
  sc.run()
end

-- --- Write timeouts ------------------------------------------------------------

-- Queued data that makes no progress for write ms: the write callbacks get
-- ETIMEDOUT and the connection is closed.
function TestTcpWrite:test_write_timeout_on_a_peer_that_never_reads()
  local sc = scope(5000)
  local got
  pair(sc, function(client)
    lu.assertTrue(client:set_timeouts({ write = 100 }))
    local start = mp.now()
    fill(client, string.rep("q", 256 * 1024), STUCK)
    client:write("last", H.expect(function(err, code)
      got = { err = err, code = code, elapsed = mp.now() - start }
      mp.timer(20, function()
        got.closed = client:closed()
        sc.done()
      end)
    end, 1))
  end)
  sc.run()
  assert_fail("ETIMEDOUT", nil, got.err, got.code)
  lu.assertTrue(got.elapsed >= 95, "timed out early: " .. got.elapsed)
  lu.assertTrue(got.elapsed < 2000, "timed out late: " .. got.elapsed)
  lu.assertTrue(got.closed, "the connection is closed after a write timeout")
end

H.run_tests()
