-- test_tcp_hostile.lua: a server against what the internet sends it:
-- slowloris clients, thousands of connect/close cycles, its own callbacks
-- failing on every event, and the Lua state closing with everything in
-- flight. Each test counts the faults it tried; the total is printed at the
-- end ("faults tried: N").
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"

TestTcpHostile = T.class()

local HOST = T.HOST
local faults = 0

-- A value of /proc/self/status (in KiB for sizes), or nil without /proc.
local function status_field(name)
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return tonumber(text:match(name .. ":%s*(%d+)"))
end

-- The descriptors this process has open.
local function open_fds()
  local p = assert(io.popen("ls /proc/" .. status_field("Pid") .. "/fd"))
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n - 1 -- the pipe of this popen
end

-- Whether a sanitizer runs in this process: ASan's quarantine and TSan's
-- shadow memory make RSS grow with every allocation, leak or not, so the
-- RSS checks are skipped under them (LSan checks leaks at exit instead).
local function sanitized()
  local f = io.open("/proc/self/maps")
  if not f then return false end
  local maps = f:read("a")
  f:close()
  return maps:find("libasan", 1, true) ~= nil or maps:find("libtsan", 1, true) ~= nil
end

-- --- Slowloris ------------------------------------------------------------------

-- Four slow clients against a line server with a read timeout of READ_MS
-- and a deadline of DEADLINE_MS for each line. Two send a byte every 500
-- ms, slower than the read timeout: the timeout closes them. Two send a
-- byte every 30 ms, which the read timeout never sees idle: the line
-- deadline closes them. Meanwhile a normal client gets an answer to a line
-- every 20 ms, each promptly. (Margins are wide for loaded machines and
-- sanitizer builds.)
function TestTcpHostile:test_slowloris_clients_are_cut_and_others_served()
  local READ_MS, DEADLINE_MS, LATE_MS = 300, 1000, 1000
  local sc = T.scope(8000)
  local started = mp.now()
  local cut = {} -- reason -> { ms after start the server closed a client }
  local function close_for(conn, reason)
    if conn:closed() then return end -- the test's end closed it
    cut[reason] = cut[reason] or {}
    table.insert(cut[reason], mp.now() - started)
    conn:close()
  end
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(err, conn)
    lu.assertNil(err)
    sc.add(conn)
    local line = ""
    local deadline = mp.timer(DEADLINE_MS, function() close_for(conn, "deadline") end)
    conn:read_start(T.live(conn, function(_, data, code)
      if not data then
        deadline:stop()
        if code == "ETIMEDOUT" then return close_for(conn, "read timeout") end
        return conn:close()
      end
      line = line .. data
      local i = line:find("\n", 1, true)
      while i do
        conn:write("ok " .. line:sub(1, i - 1) .. "\n")
        line = line:sub(i + 1)
        deadline:stop()
        deadline = mp.timer(DEADLINE_MS, function() close_for(conn, "deadline") end)
        i = line:find("\n", 1, true)
      end
    end))
  end, { read_timeout = READ_MS })))
  local host, port = server:address()

  local slow_closed = 0
  local function slow_client(every_ms)
    sc.add(mp.tcp.connect(host, port, function(err, conn)
      lu.assertNil(err)
      local ticker = mp.every(every_ms, function(t)
        if conn:closed() then return t:stop() end
        conn:write("z")
      end)
      conn:read_start(T.live(conn, function(_, data)
        if not data then -- EOF or reset: the server gave up on us
          ticker:stop()
          slow_closed = slow_closed + 1
          conn:close()
        end
      end))
    end))
  end
  for _ = 1, 2 do slow_client(500) end
  for _ = 1, 2 do slow_client(30) end

  local answered, worst = 0, 0
  sc.add(mp.tcp.connect(host, port, function(err, conn)
    lu.assertNil(err)
    local sent_at
    local function ask()
      sent_at = mp.now()
      conn:write(answered .. "\n")
    end
    conn:read_start(T.live(conn, function(e, data)
      lu.assertNil(e)
      lu.assertEquals(data, "ok " .. answered .. "\n")
      worst = math.max(worst, mp.now() - sent_at)
      answered = answered + 1
      if slow_closed == 4 and answered >= 40 then return sc.done() end
      mp.timer(20, ask)
    end))
    ask()
  end))
  sc.run()
  local function show(list) return table.concat(list or {}, " ") end
  local detail = "read timeouts at " .. show(cut["read timeout"]) .. "; deadlines at " .. show(cut.deadline)
  lu.assertEquals(#(cut["read timeout"] or {}), 2, detail)
  lu.assertEquals(#(cut.deadline or {}), 2, detail)
  for _, ms in ipairs(cut["read timeout"]) do
    lu.assertTrue(ms >= READ_MS and ms < READ_MS + LATE_MS, "read timeout after " .. ms .. " ms")
  end
  for _, ms in ipairs(cut.deadline) do
    lu.assertTrue(ms >= DEADLINE_MS and ms < DEADLINE_MS + LATE_MS, "deadline after " .. ms .. " ms")
  end
  lu.assertTrue(worst < 500, "the normal client waited " .. worst .. " ms")
  faults = faults + 4
end

-- --- Connection churn -------------------------------------------------------------

-- CYCLES connections opened, echoed once and closed, CONCURRENT at a time,
-- each end closing first in turn. At the end the descriptors are those
-- from before the server; after a warm-up of WARMUP cycles, the Lua heap
-- is back where it was at the end of the warm-up, and RSS grew by
-- less than RSS_SLACK KiB (malloc keeps some freed memory; not checked
-- under sanitizers, see sanitized()).
function TestTcpHostile:test_ten_thousand_connect_close_cycles_leave_no_trace()
  H.skip_on_windows("counts the open descriptors in /proc/PID/fd")
  local CYCLES, WARMUP, CONCURRENT, RSS_SLACK = 10000, 1000, 20, 1024
  local sc = T.scope(50000)
  local fds_before = open_fds()
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(err, conn)
    lu.assertNil(err)
    conn:read_start(function(_, data)
      if data then
        conn:write(data)
      else
        conn:close()
      end
    end)
  end)))
  local host, port = server:address()
  local started, finished = 0, 0
  local limit = WARMUP -- the cycles of the current phase: warm-up, then all
  local base -- { fds, rss, heap } after the warm-up
  local function measure()
    collectgarbage("collect")
    collectgarbage("collect")
    return { fds = open_fds(), rss = status_field("VmRSS"), heap = collectgarbage("count") }
  end
  local cycle
  local function finish()
    finished = finished + 1
    if finished < limit then
      return cycle()
    end
    mp.timer(50, function() -- let the server see the last closes
      if limit == CYCLES then return sc.done() end
      base = measure()
      limit = CYCLES
      for _ = 1, CONCURRENT do cycle() end
    end)
  end
  function cycle()
    if started == limit then return end
    started = started + 1
    local n = started
    mp.tcp.connect(host, port, function(err, conn)
      lu.assertNil(err)
      local msg = "cycle " .. n
      conn:write(msg)
      conn:read_start(function(e, data)
        lu.assertNil(e)
        if data then
          lu.assertEquals(data, msg)
          if n % 2 == 1 then return conn:shutdown() end -- the server closes first
        end
        conn:close() -- the client closes first, or after the server did
        finish()
      end)
    end)
  end
  for _ = 1, CONCURRENT do cycle() end
  sc.run()
  lu.assertEquals(finished, CYCLES)
  local after = measure()
  lu.assertEquals(after.fds, fds_before, "descriptors before the server and after the test")
  lu.assertTrue(base.fds > fds_before, "the server's socket was open at the measure")
  lu.assertTrue(after.heap < base.heap + 64, "Lua heap " .. base.heap .. " -> " .. after.heap .. " KiB")
  if after.rss and not sanitized() then
    lu.assertTrue(after.rss < base.rss + RSS_SLACK, "RSS " .. base.rss .. " -> " .. after.rss .. " KiB")
  end
  faults = faults + CYCLES
end

-- Found by the test above: a connection closed from inside its read_start
-- callback kept that callback referenced for good (a registry ref per
-- connection). Now it is released with the connection.
function TestTcpHostile:test_close_inside_a_read_callback_releases_the_callback()
  local sc = T.scope(5000)
  local callbacks = setmetatable({}, { __mode = "k" })
  T.pair(sc, function(client, accepted)
    accepted:write("x")
    local function on_read()
      client:close()
      mp.timer(20, sc.done)
    end
    callbacks[on_read] = true
    client:read_start(on_read)
  end)
  sc.run()
  collectgarbage("collect")
  collectgarbage("collect")
  lu.assertNil(next(callbacks), "the read callback of the closed connection is still referenced")
  faults = faults + 1
end

-- --- Callbacks that fail ----------------------------------------------------------

-- Every callback of the server raises after doing its work: on_connection,
-- each read, each write completion, and a timer per connection. Each error
-- reaches mp.on_error once, with its traceback, and every client still gets
-- all its echoes.
function TestTcpHostile:test_callback_that_errors_on_every_event()
  local CLIENTS, MESSAGES = 10, 5
  local sc = T.scope(5000)
  local errors = {}
  mp.on_error(function(msg) errors[#errors + 1] = msg end)
  local raised = 0
  local function fail(where)
    raised = raised + 1
    error("hostile: " .. where)
  end
  local server = sc.add(assert(mp.tcp.listen(HOST, 0, function(err, conn)
    lu.assertNil(err)
    sc.add(conn)
    conn:read_start(T.live(conn, function(_, data)
      if data then
        conn:write(data, function() fail("write callback") end)
      else
        conn:close()
      end
      fail("read callback")
    end))
    mp.timer(1, function() fail("timer") end)
    fail("on_connection")
  end)))
  local host, port = server:address()
  local done = T.countdown(CLIENTS, sc.done)
  for c = 1, CLIENTS do
    sc.add(mp.tcp.connect(host, port, function(err, conn)
      lu.assertNil(err)
      local want, got = {}, ""
      for m = 1, MESSAGES do want[m] = ("<%d.%d>"):format(c, m) end
      want = table.concat(want)
      local m = 0
      local function send()
        m = m + 1
        conn:write(("<%d.%d>"):format(c, m))
      end
      conn:read_start(T.live(conn, function(e, data)
        lu.assertNil(e)
        got = got .. data
        if #got == #want then
          lu.assertEquals(got, want)
          conn:close()
          return done()
        end
        if got:sub(-1) == ">" then send() end
      end))
      send()
    end))
  end
  mp.run()
  lu.assertFalse(sc.timed_out, "the test did not end within 5000 ms")
  lu.assertEquals(#errors, raised)
  -- on_connection, timer, and per message a read and a write callback.
  lu.assertTrue(raised >= CLIENTS * (2 + 2 * MESSAGES), "errors raised: " .. raised)
  for _, msg in ipairs(errors) do
    lu.assertStrContains(msg, "hostile: ")
    lu.assertStrContains(msg, "stack traceback")
  end
  faults = faults + raised
end

-- --- The state closes with everything in flight -----------------------------------

-- A child script ends its Lua state (os.exit(0, true): lua_close) while a
-- server accepts, connections read, write with data queued and wait in
-- coroutines (read_line, accept, sleep), connects are pending and thousands
-- of timers wait: it exits with 0, and under ASan no leak or error is
-- reported (the child inherits ASAN_OPTIONS with detect_leaks).
function TestTcpHostile:test_state_closed_with_everything_in_flight()
  local ok, how, code, output = T.run_child([[
    local mp = require "moonport"
    local server = assert(mp.tcp.listen("127.0.0.1", 0, function(_, conn)
      conn:read_start(function() end)
    end))
    local host, port = server:address()
    local waiting = assert(mp.tcp.listen("127.0.0.1", 0))
    mp.spawn(function() waiting:accept() end)
    for i = 1, 5000 do mp.timer(60000 + i, function() end) end
    mp.every(1, function() end)
    mp.spawn(function() mp.sleep(60000) end)
    for _ = 1, 20 do
      mp.tcp.connect(host, port, function(_, conn)
        conn:read_start(function() end)
        repeat conn:write(string.rep("s", 65536), function() end) until conn:write_queue_size() > 0
      end)
    end
    mp.spawn(function()
      local sock = assert(mp.tcp.connect(host, port))
      sock:read_line()
    end)
    mp.timer(30, function()
      for _ = 1, 20 do mp.tcp.connect(host, port, function() end) end -- still connecting
      os.exit(0, true)
    end)
  ]])
  lu.assertEquals({ ok, how, code }, { true, "exit", 0 }, "the child: " .. output)
  lu.assertNotStrContains(output, "Sanitizer")
  faults = faults + 1
end

local rc = lu.LuaUnit.run()
print("faults tried: " .. faults)
os.exit(rc, true)
