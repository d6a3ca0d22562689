-- test_tcp_faults.lua: mp.tcp when things go wrong or get big: resets,
-- half-closes, many clients, a reader slower than its writer, and handles
-- the script forgets (GC) or leaves open when the state closes.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"

TestTcpFaults = T.class()

local HOST, STUCK = T.HOST, T.STUCK
local pair, live, countdown, read_all = T.pair, T.live, T.countdown, T.read_all

-- One test's scope (tcp_helper.lua), holding its handles weakly, so that
-- adding one does not keep it from the GC tests.
local function scope(ms)
  return T.scope(ms, { weak = true })
end

-- What a connection that lost its peer may answer.
local LOST = { EPIPE = true, ECONNRESET = true }

-- --- The peer goes away -------------------------------------------------------

-- The peer reads a little, then closes with data unread (its kernel sends
-- a reset) while we write megabytes: the writer hears EPIPE or ECONNRESET,
-- through its write callbacks or write's nil, err; SIGPIPE never kills us.
function TestTcpFaults:test_peer_reset_in_the_middle_of_a_write()
  local sc = scope(10000)
  local chunk = string.rep("r", 256 * 1024)
  local taken, called, codes, refused = 0, 0, {}, nil
  pair(sc, function(client, accepted)
    accepted:read(function()
      accepted:close()
    end)
    local function on_written(err, code)
      called = called + 1
      if err then
        codes[#codes + 1] = code
        if #codes == 1 then mp.timer(50, sc.done) end -- room for the other callbacks
      end
    end
    local function pump()
      for _ = 1, 256 do
        if #codes > 0 then break end
        local ok, err, code = client:write(chunk, on_written)
        if ok == nil then
          refused = { err = err, code = code }
          break
        end
        taken = taken + 1
        if not ok then return end -- on_drain, or the error, comes next
      end
      if #codes == 0 then mp.timer(50, sc.done) end
    end
    client:on_drain(pump)
    pump()
  end)
  sc.run()
  lu.assertTrue(#codes > 0 or refused ~= nil, "no write failed after the peer reset")
  for _, code in ipairs(codes) do
    lu.assertTrue(LOST[code], "write callback error " .. code)
  end
  if refused then
    lu.assertTrue(LOST[refused.code], "write returned " .. tostring(refused.err))
  end
  lu.assertEquals(called, taken, "every write taken gets its callback once")
end

-- The peer closes with our data unread: our read gets ECONNRESET, once, and
-- then writes fail too.
function TestTcpFaults:test_peer_reset_while_reading()
  local sc = scope(5000)
  local got, after
  pair(sc, function(client, accepted)
    client:write("never read", function(err)
      lu.assertNil(err)
      mp.timer(20, function()
        accepted:close()
      end)
    end)
    client:read_start(H.expect(function(...)
      got = table.pack(...)
      mp.timer(50, function()
        after = table.pack(client:write("more"))
        sc.done()
      end)
    end, 1))
  end)
  sc.run()
  lu.assertEquals(got[1], "ECONNRESET: read: connection reset by peer")
  lu.assertNil(got[2])
  lu.assertEquals(got[3], "ECONNRESET")
  lu.assertNil(after[1])
  lu.assertTrue(LOST[after[3]], "write after the reset: " .. tostring(after[2]))
end

-- A server closed with connections still waiting in its accept queue: the
-- kernel resets them; each client hears it once.
function TestTcpFaults:test_server_closed_with_connections_waiting()
  local sc = scope(5000)
  local server = sc.add(assert(mp.tcp.listen(HOST, 0)))
  local host, port = server:address()
  local clients, ends = 3, {}
  local all_connected = countdown(clients, function()
    server:close()
  end)
  local all_ended = countdown(clients, function()
    mp.timer(30, sc.done)
  end)
  for _ = 1, clients do
    sc.add(mp.tcp.connect(host, port, function(err, conn)
      lu.assertNil(err)
      conn:read_start(H.expect(function(e, data, code)
        lu.assertNil(data)
        ends[#ends + 1] = e and code or "EOF"
        all_ended()
      end, 1))
      all_connected()
    end))
  end
  sc.run()
  lu.assertEquals(#ends, clients)
  for _, code in ipairs(ends) do
    lu.assertTrue(code == "ECONNRESET" or code == "EOF", code)
  end
end

-- --- Half-closes ---------------------------------------------------------------

-- Each side shuts down its sending half; each still reads what the other
-- sends, then EOF; neither connection is closed by it.
function TestTcpFaults:test_half_close_both_ways()
  local sc = scope(5000)
  local big = string.rep("0123456789abcdef", 64 * 1024) -- 1 MiB
  local server_got, client_got, still_open
  pair(sc, function(client, accepted)
    local finish = countdown(2, function()
      still_open = not client:closed() and not accepted:closed()
      sc.done()
    end)
    -- The server is done sending before it has read anything.
    lu.assertTrue(accepted:shutdown(H.expect(function(err)
      lu.assertNil(err)
    end, 1)))
    read_all(accepted, function(data)
      server_got = data
      finish()
    end)
    read_all(client, function(data)
      client_got = data -- EOF from the server, while we still send
      finish()
    end)
    client:write(big)
    client:shutdown()
  end)
  sc.run()
  lu.assertEquals(client_got, "")
  lu.assertEquals(#server_got, #big)
  lu.assertTrue(server_got == big, "the server got other bytes than were sent")
  lu.assertTrue(still_open, "a half-close closed a connection")
end

-- --- Load ----------------------------------------------------------------------

function TestTcpFaults:test_a_thousand_concurrent_clients_on_one_echo_server()
  local clients = 1000
  local limit = T.fd_limit()
  if limit and limit < 2 * clients + 100 then
    lu.skip("needs " .. 2 * clients + 100 .. " descriptors, the limit is " .. limit)
  end
  local sc = scope(30000)
  local echoed, wrong = 0, {}
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(err, conn)
    lu.assertNil(err)
    sc.add(conn)
    conn:read_start(live(conn, function(e, data)
      lu.assertNil(e)
      if data then
        conn:write(data)
      else
        conn:close()
      end
    end))
  end, { backlog = 2048 })))
  local host, port = server:address()
  local finish = countdown(clients, function()
    server:close()
    sc.done()
  end)
  for i = 1, clients do
    local message = string.format("client %04d: ", i) .. string.rep(string.char(65 + i % 26), i % 200)
    sc.add(mp.tcp.connect(host, port, function(err, conn)
      lu.assertNil(err)
      local parts, size = {}, 0
      conn:read_start(live(conn, function(e, data)
        lu.assertNil(e)
        lu.assertNotNil(data, "EOF before the whole echo")
        parts[#parts + 1] = data
        size = size + #data
        if size >= #message then
          if table.concat(parts) == message then
            echoed = echoed + 1
          else
            wrong[#wrong + 1] = i
          end
          conn:close()
          finish()
        end
      end))
      lu.assertNotNil(conn:write(message))
    end))
  end
  sc.run()
  lu.assertEquals(wrong, {})
  lu.assertEquals(echoed, clients)
end

-- A reader slower than its writer: write() turns false at high water, the
-- writer waits for on_drain, and the queue never holds more than high
-- water and one write. Every byte arrives, in order.
function TestTcpFaults:test_slow_reader_fast_writer()
  local sc = scope(20000)
  local high, piece_size, pieces = 16 * 1024, 4 * 1024, 2048 -- 8 MiB
  local filler = string.rep(".", piece_size - 9)
  local function piece(i)
    return string.format("%08d", i) .. filler .. "\n"
  end
  local most_queued, falses, drains, received = 0, 0, 0, {}
  pair(sc, function(client, accepted)
    local next_piece = 1
    local function pump()
      while next_piece <= pieces do
        local ok = client:write(piece(next_piece))
        lu.assertNotNil(ok)
        next_piece = next_piece + 1
        most_queued = math.max(most_queued, client:write_queue_size())
        if not ok then
          falses = falses + 1
          return
        end
      end
      client:shutdown()
    end
    client:on_drain(function()
      drains = drains + 1
      lu.assertEquals(client:write_queue_size(), 0)
      pump()
    end)
    -- The reader takes one chunk every 2 ms.
    local function slow_read()
      accepted:read(live(accepted, function(err, data)
        lu.assertNil(err)
        if not data then return sc.done() end
        received[#received + 1] = data
        mp.timer(2, slow_read)
      end))
    end
    slow_read()
    pump()
  end, { client = { high_water = high } })
  sc.run()
  lu.assertTrue(falses > 0, "the writer never reached high water")
  lu.assertEquals(drains, falses, "one drain for each false")
  lu.assertTrue(most_queued <= high + piece_size, "queued " .. most_queued)
  local all = table.concat(received)
  lu.assertEquals(#all, pieces * piece_size)
  for i = 1, pieces, 97 do
    local at = (i - 1) * piece_size
    lu.assertEquals(all:sub(at + 1, at + piece_size), piece(i))
  end
  local expected = {}
  for i = 1, pieces do
    expected[i] = piece(i)
  end
  lu.assertTrue(all == table.concat(expected), "the bytes arrived out of order")
end

-- --- Forgotten handles and the GC ---------------------------------------------

local function full_gc()
  collectgarbage("collect")
  collectgarbage("collect")
end

-- A server nobody refers to, that does not accept: the GC closes it, and
-- its port is free again.
function TestTcpFaults:test_forgotten_idle_server_is_collected_and_closed()
  local seen = setmetatable({}, { __mode = "k" })
  local port
  do
    local server = assert(mp.tcp.listen(HOST, 0))
    port = select(2, server:address())
    seen[server] = true
  end
  full_gc()
  lu.assertNil(next(seen), "the server was not collected")
  local again = assert(mp.tcp.listen(HOST, port))
  again:close()
  mp.run() -- closing is asynchronous: its completion comes on the loop
  lu.assertFalse(mp.alive())
end

-- A connected, idle connection nobody refers to: the GC closes it, and the
-- peer reads EOF. The peer's end, forgotten after EOF, goes the same way.
function TestTcpFaults:test_forgotten_idle_connection_is_collected_and_closed()
  local sc = scope(5000)
  local seen = setmetatable({}, { __mode = "k" })
  local eof = false
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(err, conn)
    lu.assertNil(err)
    seen[conn] = "accepted"
    conn:read_start(function(e, data)
      lu.assertNil(e)
      lu.assertNil(data)
      eof = true
      sc.done()
    end)
  end)))
  local host, port = server:address()
  mp.tcp.connect(host, port, H.expect(function(err, conn)
    lu.assertNil(err)
    seen[conn] = "client"
    mp.timer(10, full_gc) -- from a fresh stack, where nothing refers to it
  end, 1))
  sc.run()
  lu.assertTrue(eof, "the peer of the collected connection saw no EOF")
  full_gc()
  lu.assertNil(next(seen), "a connection was not collected")
end

-- A handle with work under way is kept alive by it, even forgotten: a
-- connect still calls back, and a reading, writing connection is kept
-- until its peer's reset ends that work; then the GC takes it.
function TestTcpFaults:test_forgotten_busy_connections_live_until_their_work_ends()
  local sc = scope(5000)
  local seen = setmetatable({}, { __mode = "k" })
  local read_end, write_errors, alive_while_busy = nil, 0, nil
  local peer
  -- Once the client is busy and forgotten, and the server has its end:
  -- collect, then close the peer with the client's data unread (a reset).
  local check = countdown(2, function()
    full_gc()
    alive_while_busy = next(seen) ~= nil
    peer:close()
  end)
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(err, conn)
    lu.assertNil(err)
    peer = sc.add(conn)
    check()
  end)))
  local host, port = server:address()
  mp.tcp.connect(host, port, H.expect(function(err, conn)
    lu.assertNil(err)
    seen[conn] = true
    conn:read_start(function(e, _, code)
      read_end = e and code or "EOF"
      mp.timer(20, sc.done)
    end)
    -- Beyond what the kernel takes for a peer that does not read.
    local chunk = string.rep("b", 256 * 1024)
    repeat
      conn:write(chunk, function(e)
        if e then write_errors = write_errors + 1 end
      end)
    until conn:write_queue_size() >= STUCK
    mp.timer(1, check) -- from a fresh stack, where nothing refers to conn
  end, 1))
  full_gc() -- while connecting
  sc.run()
  lu.assertTrue(alive_while_busy, "a busy connection was collected")
  lu.assertTrue(read_end == "ECONNRESET" or read_end == "EOF", tostring(read_end))
  lu.assertTrue(write_errors > 0, "the queued writes did not fail")
  full_gc()
  lu.assertNil(next(seen), "the connection was not collected once idle")
end

-- Closed with operations in flight, then forgotten and collected before
-- those complete: no crash, and the callbacks still come, once each.
function TestTcpFaults:test_closed_and_collected_with_operations_in_flight()
  local sc = scope(5000)
  local seen = setmetatable({}, { __mode = "k" })
  local cancelled, collected = 0, nil
  local accepted -- held: collected, it would close and the writes below fail
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(err, conn)
    lu.assertNil(err)
    accepted = sc.add(conn)
  end)))
  local host, port = server:address()
  mp.tcp.connect(host, port, function(err, conn)
    lu.assertNil(err)
    local chunk = string.rep("c", 256 * 1024)
    repeat
      lu.assertNotNil(conn:write(chunk))
    until conn:write_queue_size() > 0
    for _ = 1, 3 do
      conn:write("x", H.expect(function(e)
        lu.assertNotNil(e)
        cancelled = cancelled + 1
      end, 1))
    end
    conn:read_start(function() end)
    conn:close()
    seen[conn] = true
    conn = nil -- luacheck: ignore 311 (the last reference, on this stack)
    full_gc()
    collected = next(seen) == nil
    mp.timer(50, sc.done)
  end)
  sc.run()
  lu.assertTrue(accepted:closed())
  lu.assertTrue(collected, "the closed connection was not collected")
  lu.assertEquals(cancelled, 3)
end

-- The Lua state closes (os.exit(0, true)) with a server accepting and a
-- connection reading and writing: the process exits cleanly.
function TestTcpFaults:test_state_closed_with_handles_still_busy()
  local ok, how, code, output = T.run_child([[
    local mp = require "moonport"
    local server = assert(mp.tcp.listen("127.0.0.1", 0, function(_, conn)
      conn:read_start(function() end)
    end))
    local host, port = server:address()
    mp.tcp.connect(host, port, function(_, conn)
      conn:read_start(function() end)
      repeat conn:write(string.rep("s", 65536), function() end) until conn:write_queue_size() > 0
      mp.timer(20, function() os.exit(0, true) end)
    end)
  ]])
  lu.assertEquals({ ok, how, code }, { true, "exit", 0 }, "the child: " .. output)
end

H.run_tests()
