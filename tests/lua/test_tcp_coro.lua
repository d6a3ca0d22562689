-- test_tcp_coro.lua: the coroutine form of TCP (lua/moonport/tcp.lua):
-- connect, accept, the reads and their errors, writes at high water,
-- timeouts, and misuse. Everything on 127.0.0.1, on ports the system picks.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"

TestTcpCoro = H.class()

local HOST = "127.0.0.1"

-- Listen on a free port, run server(conn) on the first connection and
-- client(sock) on a connection to it, each in its own coroutine; both must
-- finish without an error within opts.within ms, default 5 s (else both are
-- closed, so that a broken test fails instead of hanging). opts.server and
-- opts.client go to listen and connect.
local function pair(server, client, opts)
  opts = opts or {}
  local errors = H.capture_errors()
  local finished, handles = {}, {}
  local within = opts.within or 5000
  local watchdog = mp.timer(within, function()
    errors[#errors + 1] = "still running after " .. within .. " ms"
    for _, h in ipairs(handles) do
      h:close()
    end
  end)
  -- Run f(handle), then close handle, also when f fails (so that the peer
  -- sees the end); re-raise the failure with f's traceback.
  local function run(who, f, handle)
    handles[#handles + 1] = handle
    local ok, err = xpcall(f, debug.traceback, handle)
    handle:close()
    finished[#finished + 1] = who
    if #finished == 2 then
      watchdog:stop()
    end
    if not ok then
      error(err, 0)
    end
  end
  local listener = assert(mp.tcp.listen(HOST, 0, opts.server))
  handles[1] = listener
  local _, port = listener:address()
  mp.spawn(function()
    local conn = assert(listener:accept())
    listener:close()
    run("server", server, conn)
  end)
  mp.spawn(function()
    run("client", client, assert(mp.tcp.connect(HOST, port, opts.client)))
  end)
  mp.run()
  lu.assertEquals(errors, {})
  lu.assertItemsEquals(finished, { "server", "client" })
end

-- Send s in pieces of n bytes a few milliseconds apart, so that the reader
-- gets them as separate chunks; then wait until all of it is sent and shut
-- the write side.
local function trickle(conn, s, n)
  conn:nodelay(true)
  for i = 1, #s, n do
    lu.assertTrue(conn:write(s:sub(i, i + n - 1)))
    mp.sleep(2)
  end
  lu.assertTrue(conn:shutdown())
end

function TestTcpCoro:test_connect_accept_write_read()
  pair(function(conn)
    lu.assertEquals(conn:read(5), "hello")
    lu.assertTrue(conn:write("world"))
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    local host, port = sock:peer()
    lu.assertEquals(host, HOST)
    lu.assertTrue(port > 0)
    lu.assertTrue(sock:write("hello"))
    lu.assertEquals(sock:read(5), "world")
  end)
end

function TestTcpCoro:test_read_n_across_chunks_keeps_the_rest()
  pair(function(conn)
    trickle(conn, "abcdefghij", 3)
  end, function(sock)
    lu.assertEquals(sock:read(2), "ab") -- from the first chunk, "c" kept
    lu.assertEquals(sock:read(0), "")
    lu.assertEquals(sock:read(7), "cdefghi") -- across three chunks
    lu.assertEquals(sock:read(1), "j")
    local data, err, partial = sock:read(1)
    lu.assertEquals({ data, err, partial }, { nil, "closed", "" })
  end)
end

function TestTcpCoro:test_read_at_eof_returns_the_partial_data()
  pair(function(conn)
    lu.assertTrue(conn:write("abc"))
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    local data, err, partial = sock:read(5)
    lu.assertEquals({ data, err, partial }, { nil, "closed", "abc" })
    -- EOF stays: every read says so again, with nothing more.
    data, err, partial = sock:read(1)
    lu.assertEquals({ data, err, partial }, { nil, "closed", "" })
    data, err, partial = sock:read_line()
    lu.assertEquals({ data, err, partial }, { nil, "closed", "" })
    data, err, partial = sock:read_until("x")
    lu.assertEquals({ data, err, partial }, { nil, "closed", "" })
    data, err = sock:read_some()
    lu.assertEquals({ data, err }, { nil, "closed" })
  end)
end

function TestTcpCoro:test_read_line_strips_lf_and_crlf()
  pair(function(conn)
    trickle(conn, "one\ntwo\r\n\n\r\nfour\rstill four\r\nfive", 2)
  end, function(sock)
    lu.assertEquals(sock:read_line(), "one")
    lu.assertEquals(sock:read_line(), "two")
    lu.assertEquals(sock:read_line(), "")
    lu.assertEquals(sock:read_line(), "")
    lu.assertEquals(sock:read_line(), "four\rstill four")
    local line, err, partial = sock:read_line()
    lu.assertEquals({ line, err, partial }, { nil, "closed", "five" })
  end)
end

function TestTcpCoro:test_read_line_too_long()
  pair(function(conn)
    trickle(conn, "abcdefgh\nxy\nabcde\r\nabcdef\r\n", 4)
  end, function(sock)
    -- The first max bytes come back as partial; the rest of the line stays.
    local line, err, partial = sock:read_line(5)
    lu.assertEquals({ line, err, partial }, { nil, "line too long", "abcde" })
    lu.assertEquals(sock:read_line(5), "fgh")
    lu.assertEquals(sock:read_line(5), "xy")
    lu.assertEquals(sock:read_line(5), "abcde") -- "\r\n" does not count
    line, err, partial = sock:read_line(5)
    lu.assertEquals({ line, err, partial }, { nil, "line too long", "abcde" })
    lu.assertEquals(sock:read_line(5), "f")
  end)
end

function TestTcpCoro:test_read_line_is_bounded_without_a_newline()
  -- 256 KiB and no newline, and the server keeps the connection open: an
  -- unbounded read_line would wait for more forever.
  local sent = string.rep("x", 256 * 1024)
  pair(function(conn)
    lu.assertNotNil(conn:write(sent))
    local data, err = conn:read_some()
    lu.assertEquals({ data, err }, { nil, "closed" }) -- until the client is done
  end, function(sock)
    local line, err, partial = sock:read_line()
    lu.assertEquals({ line, err }, { nil, "line too long" })
    lu.assertEquals(partial, string.rep("x", 8192)) -- the default max
    line, err, partial = sock:read_line(100)
    lu.assertEquals({ line, err, partial }, { nil, "line too long", string.rep("x", 100) })
    lu.assertTrue(sock:shutdown()) -- the server can end now
  end)
end

function TestTcpCoro:test_read_until_across_chunks()
  pair(function(conn)
    trickle(conn, "abc--bdef--b--bgh", 1) -- one byte a chunk: delimiters cross chunks
  end, function(sock)
    lu.assertEquals(sock:read_until("--b"), "abc")
    lu.assertEquals(sock:read_until("--b"), "def")
    lu.assertEquals(sock:read_until("--b"), "")
    local data, err, partial = sock:read_until("--b")
    lu.assertEquals({ data, err, partial }, { nil, "closed", "gh" })
  end)
end

function TestTcpCoro:test_read_until_matches_a_plain_split()
  -- Records of random bytes that are often almost the delimiter, sent in
  -- random small pieces: read_until must cut exactly where a plain search
  -- of the whole stream does.
  local rng_state = 12345
  local function random(n) -- a small LCG: the same stream on every run
    rng_state = (rng_state * 1103515245 + 12345) % 2147483648
    return rng_state % n + 1
  end
  local delim, alphabet = "-=-=x", { "-", "=", "x", "y" }
  local records = {}
  for i = 1, 200 do
    local r = {}
    for j = 1, random(12) - 1 do
      r[j] = alphabet[random(#alphabet)]
    end
    records[i] = table.concat(r)
  end
  local stream = table.concat(records, delim) .. delim
  local expected, pos = {}, 1
  while true do
    local a, b = stream:find(delim, pos, true)
    if not a then break end
    expected[#expected + 1] = stream:sub(pos, a - 1)
    pos = b + 1
  end
  local got = {}
  pair(function(conn)
    conn:nodelay(true)
    local i = 1
    while i <= #stream do
      local n = random(7)
      lu.assertTrue(conn:write(stream:sub(i, i + n - 1)))
      i = i + n
      mp.sleep(0)
    end
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    for record in function() return sock:read_until(delim, 20) end do
      got[#got + 1] = record
    end
  end)
  lu.assertEquals(got, expected)
end

function TestTcpCoro:test_read_until_too_long()
  pair(function(conn)
    trickle(conn, "abcd||ef||", 3)
  end, function(sock)
    local data, err, partial = sock:read_until("||", 3)
    lu.assertEquals({ data, err, partial }, { nil, "too long", "abc" })
    lu.assertEquals(sock:read_until("||", 3), "d")
    lu.assertEquals(sock:read_until("||", 2), "ef") -- exactly max
  end)
end

function TestTcpCoro:test_read_some()
  local go
  pair(function(conn)
    lu.assertTrue(conn:write("ab"))
    lu.assertEquals(conn:read(2), "ok") -- the client got "ab" by itself
    lu.assertTrue(conn:write("hello world"))
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    lu.assertEquals(sock:read_some(), "ab")
    lu.assertTrue(sock:write("ok"))
    lu.assertEquals(sock:read(6), "hello ")
    -- What is buffered comes first, without waiting for the peer.
    go = sock:read_some()
    local rest = go
    while #rest < #"world" do
      rest = rest .. assert(sock:read_some())
    end
    lu.assertEquals(rest, "world")
    local data, err = sock:read_some()
    lu.assertEquals({ data, err }, { nil, "closed" })
  end)
  lu.assertTrue(#go > 0)
end

function TestTcpCoro:test_read_error_is_ename_message()
  pair(function()
    mp.sleep(20) -- the client's bytes arrive, unread: closing now resets
  end, function(sock)
    lu.assertTrue(sock:write("never read"))
    local data, err = sock:read_some()
    lu.assertNil(data)
    lu.assertStrMatches(err, "ECONNRESET: .*")
    local partial
    data, err, partial = sock:read(1) -- what the kernel says next ("closed")
    lu.assertEquals({ data, partial }, { nil, "" })
    lu.assertNotNil(err)
  end)
end

function TestTcpCoro:test_read_timeout_returns_partial_and_socket_stays_usable()
  pair(function(conn)
    lu.assertTrue(conn:write("ab"))
    lu.assertEquals(conn:read(2), "go") -- sent once the client timed out
    lu.assertTrue(conn:write("cde"))
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    sock:settimeouts(nil, nil, 50)
    local start = mp.now()
    local data, err, partial = sock:read(5)
    local waited = mp.now() - start
    lu.assertEquals({ data, err, partial }, { nil, "timeout", "ab" })
    lu.assertTrue(waited >= 45 and waited < 1000, "waited " .. waited .. " ms")
    lu.assertTrue(sock:write("go"))
    lu.assertEquals(sock:read(3), "cde")
  end)
end

function TestTcpCoro:test_settimeout_and_listen_read_timeout()
  pair(function(conn)
    -- opts.read_timeout of the listener applies to the accepted conn.
    local line, err, partial = conn:read_line()
    lu.assertEquals({ line, err, partial }, { nil, "timeout", "" })
    lu.assertTrue(conn:write("done\n"))
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    sock:settimeout(50)
    local data, err = sock:read_some()
    lu.assertEquals({ data, err }, { nil, "timeout" })
    sock:settimeout(0) -- none: wait for the server's own timeout
    lu.assertEquals(sock:read_line(), "done")
  end, { server = { read_timeout = 100 } })
end

function TestTcpCoro:test_write_waits_at_high_water()
  -- 32 MiB, far more than the kernel buffers hold, to a reader that starts
  -- late: each write waits while the queue is over high water. Under TSan,
  -- on a busy 2-core machine, that takes about 7 s: hence 30 s to finish.
  local piece_size, pieces, high_water = 64 * 1024, 512, 16 * 1024
  local events = {}
  pair(function(conn)
    mp.sleep(100)
    events[#events + 1] = "reader starts"
    for i = 1, pieces do
      local data, err = conn:read(piece_size)
      lu.assertEquals(err, nil)
      if data ~= string.rep(string.char(65 + i % 26), piece_size) then
        lu.fail("piece " .. i .. " differs")
      end
    end
  end, function(sock)
    local most = 0
    for i = 1, pieces do
      lu.assertIs(sock:write(string.rep(string.char(65 + i % 26), piece_size)), true)
      most = math.max(most, sock:write_queue_size())
    end
    events[#events + 1] = "writer done"
    lu.assertTrue(most < high_water + piece_size, "queue grew to " .. most)
    lu.assertTrue(sock:shutdown())
  end, { client = { high_water = high_water }, within = 45000 })
  lu.assertEquals(events, { "reader starts", "writer done" })
end

function TestTcpCoro:test_write_timeout_ends_a_waiting_write()
  local writer_done = false
  pair(function()
    while not writer_done do -- never read
      mp.sleep(10)
    end
  end, function(sock)
    local piece = string.rep("x", 64 * 1024)
    local ok, err, code
    for _ = 1, 2000 do -- 128 MiB at most
      ok, err, code = sock:write(piece)
      if not ok then
        break
      end
    end
    writer_done = true
    lu.assertEquals({ ok, err, code }, { nil, "timeout", "ETIMEDOUT" })
    mp.sleep(0) -- the write's callback resumed us; the C layer closes after it
    lu.assertTrue(sock:closed()) -- a write timeout closes the connection
  end, { client = { high_water = 16 * 1024, write_timeout = 50 } })
end

function TestTcpCoro:test_connect_refused()
  local port = T.free_port()
  local result
  mp.spawn(function()
    result = { mp.tcp.connect(HOST, port) }
  end)
  mp.run()
  T.assert_fail("ECONNREFUSED", result[1], result[2], result[3])
end

function TestTcpCoro:test_connect_timeout()
  -- A listener that never accepts, with the smallest backlog: once its
  -- queue is full the kernel drops further SYNs, and connects time out.
  local server = assert(mp.tcp.listen(HOST, 0, { backlog = 1 }))
  local _, port = server:address()
  local socks, results = {}, {}
  for i = 1, 6 do
    mp.spawn(function()
      local sock, err, code = mp.tcp.connect(HOST, port, { timeout = 100 })
      socks[#socks + 1] = sock
      results[i] = err and (err .. " " .. code) or "connected"
    end)
  end
  mp.run()
  for _, sock in ipairs(socks) do
    sock:close()
  end
  server:close()
  lu.assertEquals(#results, 6)
  local timeouts = 0
  for _, r in ipairs(results) do
    lu.assertTrue(r == "connected" or r == "timeout ETIMEDOUT", r)
    timeouts = timeouts + (r == "connected" and 0 or 1)
  end
  lu.assertTrue(timeouts > 0, "no connect timed out")
end

function TestTcpCoro:test_accept_several_connections()
  local server = assert(mp.tcp.listen(HOST, 0))
  local _, port = server:address()
  local got = {}
  mp.spawn(function()
    for _ = 1, 3 do
      local conn = assert(server:accept())
      mp.spawn(function()
        -- Not got[#got + 1] = conn:read_line(): Lua would take #got before
        -- the read yields, and readers finishing in another order would
        -- write the same slot.
        local line = conn:read_line()
        got[#got + 1] = line
        conn:close()
      end)
    end
    server:close()
  end)
  for i = 1, 3 do
    mp.spawn(function()
      local sock = assert(mp.tcp.connect(HOST, port))
      assert(sock:write("client " .. i .. "\n"))
      assert(sock:shutdown())
      sock:close()
    end)
  end
  mp.run()
  lu.assertItemsEquals(got, { "client 1", "client 2", "client 3" })
end

function TestTcpCoro:test_shutdown_waits_and_half_closes()
  pair(function(conn)
    lu.assertEquals(conn:read_line(), "request")
    local data, err = conn:read_some()
    lu.assertEquals({ data, err }, { nil, "closed" })
    lu.assertTrue(conn:write("response"))
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    lu.assertTrue(sock:write("request\n"))
    lu.assertTrue(sock:shutdown())
    local ok, err, code = sock:write("more")
    lu.assertNil(ok)
    lu.assertStrMatches(err, "ECLOSED: .*")
    lu.assertEquals(code, "ECLOSED")
    lu.assertEquals(sock:read(8), "response")
  end)
end

function TestTcpCoro:test_calls_outside_a_coroutine_raise()
  local server = assert(mp.tcp.listen(HOST, 0))
  local _, port = server:address()
  local function raises(what, f, ...)
    local args = table.pack(...)
    local ok, err = pcall(function()
      f(table.unpack(args, 1, args.n)) -- called from a Lua line (not a tail call)
    end)
    lu.assertFalse(ok, what)
    lu.assertStrContains(err, what .. " must be called inside mp.spawn")
    lu.assertStrContains(err, "test_tcp_coro.lua") -- the caller's line
  end
  raises("mp.tcp.connect", mp.tcp.connect, HOST, port)
  raises("mp.tcp.connect", mp.tcp.connect, HOST, port, { timeout = 10 })
  raises("server:accept", server.accept, server)
  local checked = false
  mp.tcp.connect(HOST, port, H.expect(function(err, sock)
    lu.assertNil(err)
    -- A callback is no coroutine: waiting calls raise, write is the C form.
    raises("sock:read(n)", sock.read, sock, 1)
    raises("sock:read_line", sock.read_line, sock)
    raises("sock:read_until", sock.read_until, sock, "\n")
    raises("sock:read_some", sock.read_some, sock)
    lu.assertTrue(sock:write("x"))
    sock:close()
    server:close()
    checked = true
  end, 1))
  mp.run()
  lu.assertTrue(checked)
end

function TestTcpCoro:test_two_readers()
  local results = {}
  pair(function(conn)
    lu.assertEquals(conn:read(2), "go")
    lu.assertTrue(conn:write("hello"))
    lu.assertTrue(conn:shutdown())
  end, function(sock)
    local first = mp.spawn(function()
      results.first = sock:read(5)
    end)
    for _, call in ipairs({
      function() return sock:read(1) end,
      function() return sock:read_line() end,
      function() return sock:read_until("l") end,
      function() return sock:read_some() end,
      function() return sock:read(function() end) end, -- the C form says so too
    }) do
      local ok, err = pcall(call)
      lu.assertFalse(ok)
      lu.assertStrContains(err, "already reading")
    end
    lu.assertTrue(sock:write("go"))
    while coroutine.status(first) ~= "dead" do
      mp.sleep(1)
    end
    -- The first reader got its data; the socket reads on as before.
    local data, err = sock:read(1)
    lu.assertEquals({ data, err }, { nil, "closed" })
  end)
  lu.assertEquals(results.first, "hello")
end

function TestTcpCoro:test_two_acceptors()
  local server = assert(mp.tcp.listen(HOST, 0))
  local result
  mp.spawn(function()
    result = { server:accept() }
  end)
  mp.spawn(function()
    local ok, err = pcall(server.accept, server)
    lu.assertFalse(ok)
    lu.assertStrContains(err, "already accepting")
    server:close()
  end)
  mp.run()
  -- Closing the server ended the first accept.
  T.assert_fail("ECANCELED", result[1], result[2], result[3])
end

function TestTcpCoro:test_close_ends_a_waiting_read()
  local result
  pair(function(conn)
    local data, err = conn:read_some()
    lu.assertEquals({ data, err }, { nil, "closed" })
  end, function(sock)
    local reader = mp.spawn(function()
      result = { sock:read(10) }
    end)
    mp.sleep(10)
    sock:close()
    mp.sleep(10)
    lu.assertEquals(coroutine.status(reader), "dead")
  end)
  lu.assertNil(result[1])
  lu.assertStrMatches(result[2], "ECANCELED: .*")
  lu.assertEquals(result[3], "")
end

function TestTcpCoro:test_use_after_close()
  pair(function(conn)
    conn:read_some()
  end, function(sock)
    sock:close()
    sock:close() -- idempotent
    local ok, err, code = sock:write("x")
    lu.assertNil(ok)
    lu.assertStrMatches(err, "ECLOSED: .*")
    lu.assertEquals(code, "ECLOSED")
    local data, rerr, partial = sock:read(1)
    lu.assertEquals({ data, partial }, { nil, "" })
    lu.assertStrMatches(rerr, "ECLOSED: .*")
    data, rerr = sock:read_some()
    lu.assertNil(data)
    lu.assertStrMatches(rerr, "ECLOSED: .*")
  end)
end

function TestTcpCoro:test_callback_form_through_the_same_methods()
  local server = assert(mp.tcp.listen(HOST, 0))
  local _, port = server:address()
  local got = {}
  server:accept(H.expect(function(err, conn)
    lu.assertNil(err)
    server:close()
    conn:read(H.expect(function(rerr, data)
      lu.assertNil(rerr)
      got[#got + 1] = data
      conn:write("pong", H.expect(function(werr)
        lu.assertNil(werr)
        conn:close()
      end, 1))
    end, 1))
  end, 1))
  mp.tcp.connect(HOST, port, H.expect(function(err, sock)
    lu.assertNil(err)
    lu.assertTrue(sock:write("ping"))
    sock:read(H.expect(function(rerr, data)
      lu.assertNil(rerr)
      got[#got + 1] = data
      sock:close()
    end, 1))
  end, 1), { timeout = 1000 })
  mp.run()
  lu.assertEquals(got, { "ping", "pong" })
end

function TestTcpCoro:test_errors_in_coroutines_go_to_on_error()
  local errors = H.capture_errors()
  local server = assert(mp.tcp.listen(HOST, 0))
  local _, port = server:address()
  mp.spawn(function()
    local conn = assert(server:accept())
    server:close()
    conn:read_some()
    conn:close()
    error("after the read")
  end)
  mp.spawn(function()
    local sock = assert(mp.tcp.connect(HOST, port))
    sock:write("x")
    sock:shutdown()
    sock:close()
  end)
  mp.run()
  lu.assertEquals(#errors, 1)
  lu.assertStrContains(errors[1], "after the read")
  lu.assertStrContains(errors[1], "stack traceback:")
  lu.assertStrContains(errors[1], "test_tcp_coro.lua")
end

function TestTcpCoro:test_misuse()
  local server = assert(mp.tcp.listen(HOST, 0))
  local _, port = server:address()
  H.assert_arg_error(3, "connect", "callback or options table expected, got string",
    mp.tcp.connect, HOST, port, "x")
  mp.tcp.connect(HOST, port, H.expect(function(_, sock)
    H.assert_arg_error(1, "read", "callback or number of bytes expected, got nil", sock.read, sock)
    H.assert_arg_error(1, "read", "number of bytes must be an integer >= 0", sock.read, sock, -1)
    H.assert_arg_error(1, "read", "number of bytes must be an integer >= 0", sock.read, sock, 1.5)
    H.assert_arg_error(1, "read", "callback or number of bytes expected, got string", sock.read, sock, "5")
    H.assert_arg_error(1, "read_line", "max must be an integer >= 1", sock.read_line, sock, 0)
    H.assert_arg_error(1, "read_line", "max must be an integer >= 1", sock.read_line, sock, "9")
    H.assert_arg_error(1, "read_until", "delimiter must be a non-empty string", sock.read_until, sock, "")
    H.assert_arg_error(1, "read_until", "delimiter must be a non-empty string", sock.read_until, sock, 5)
    H.assert_arg_error(2, "read_until", "max must be an integer >= 1", sock.read_until, sock, "x", 0.5)
    sock:close()
    server:close()
  end, 1))
  mp.run()
end

H.run_tests()
