-- tcp_helper.lua: what the callback-form TCP tests (test_tcp*.lua) share on
-- top of helper.lua: a test class that collects errors raised in callbacks,
-- a scope that guards one test's handles with a timeout, a connected pair,
-- and small tools for reading, writing, failures and child processes.
-- Everything runs on 127.0.0.1 (HOST), on ports the system picks.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"

local T = {}

T.HOST = "127.0.0.1"

-- More than the kernel takes (~4 MiB on loopback) from a writer whose peer
-- does not read: a connection with this much queued is stuck for good.
T.STUCK = 8 * 1024 * 1024

-- What callbacks of the running test raised (mp.on_error); set by setUp.
local errors

-- A test class with helper.lua's setUp and tearDown; its setUp also
-- collects the errors raised in callbacks, which sc.run() checks.
function T.class()
  local class = H.class()
  function class.setUp()
    H.setUp()
    errors = H.capture_errors()
  end
  return class
end

-- One test's handles and its guard. The test adds every handle it opens
-- (sc.add returns it); sc.done() ends the test: the guard stops and the
-- handles close, in the order they were added, so mp.run() returns. If
-- done() has not come within ms, the guard closes them itself and sc.run()
-- fails the test: a hang fails, it does not block. sc.ended turns true just
-- before the handles close, either way, so that callbacks can tell the
-- errors that closing brings. With opts.weak the handles are held weakly:
-- adding one does not keep it from the GC (for the tests of the GC).
function T.scope(ms, opts)
  local handles = setmetatable({}, opts and opts.weak and { __mode = "v" } or nil)
  local added = 0
  local sc = { timed_out = false, ended = false }
  local function close_all()
    sc.ended = true
    for i = 1, added do
      local h = handles[i]
      if h then h:close() end
    end
  end
  local guard = mp.timer(ms, function()
    sc.timed_out = true
    close_all()
  end)
  function sc.add(h)
    added = added + 1
    handles[added] = h
    return h
  end
  function sc.done()
    guard:stop()
    close_all()
  end
  function sc.run()
    mp.run()
    lu.assertEquals(errors, {}, "errors raised in callbacks")
    lu.assertFalse(sc.timed_out, "the test did not end within " .. ms .. " ms")
  end
  return sc
end

-- Listen (on opts.host, else HOST), connect one client, and call
-- ready(client, accepted) once both ends exist. opts.client and
-- opts.server are the options of connect and listen. The server and both
-- connections are added to sc. Returns the server.
function T.pair(sc, ready, opts)
  opts = opts or {}
  local client, accepted
  local server = sc.add(assert(mp.tcp.listen(opts.host or T.HOST, 0, function(err, conn)
    lu.assertNil(err)
    accepted = sc.add(conn)
    if client then ready(client, accepted) end
  end, opts.server)))
  local host, port = server:address()
  sc.add(mp.tcp.connect(host, port, function(err, conn)
    lu.assertNil(err)
    client = conn
    if accepted then ready(client, accepted) end
  end, opts.client))
  return server
end

-- cb, but silent once conn is closed. The contract says a closed
-- connection's read callback gets nothing more; one test checks that
-- (test_tcp_write.lua), the others ignore such calls, so that a bug there
-- fails one test only.
function T.live(conn, cb)
  return function(...)
    if not conn:closed() then return cb(...) end
  end
end

-- A function that calls fn on its n-th call.
function T.countdown(n, fn)
  return function()
    n = n - 1
    if n == 0 then fn() end
  end
end

-- Read conn until EOF, then on_eof(everything read).
function T.read_all(conn, on_eof)
  local parts = {}
  conn:read_start(T.live(conn, function(err, data)
    lu.assertNil(err)
    if data then
      parts[#parts + 1] = data
    else
      on_eof(table.concat(parts))
    end
  end))
end

-- Write chunk until at least min_queued bytes (default 1) stay queued;
-- returns the bytes written. The peer does not read, yet the kernel takes
-- some MiB more before nothing moves: to be stuck for good, queue STUCK.
function T.fill(conn, chunk, min_queued)
  local total = 0
  for _ = 1, 1000 do
    lu.assertNotNil(conn:write(chunk))
    total = total + #chunk
    if conn:write_queue_size() >= (min_queued or 1) then return total end
  end
  lu.fail("the kernel took 1000 writes and queued too little")
end

-- A failure: nil, "NAME: what: message", "NAME".
function T.assert_fail(name, ok, err, code)
  lu.assertNil(ok, "expected a failure " .. name)
  lu.assertStrMatches(tostring(err), name .. ": .+")
  lu.assertEquals(code, name)
end

function T.noop() end

-- A port nobody listens on: one the kernel just handed out and took back.
function T.free_port()
  local server = assert(mp.tcp.listen(T.HOST, 0))
  local _, port = server:address()
  server:close()
  return port
end

-- The soft limit on open descriptors, from /proc (nil if unknown).
function T.fd_limit()
  local f = io.open("/proc/self/limits")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local soft = text:match("Max open files%s+(%S+)")
  return soft == "unlimited" and math.huge or tonumber(soft)
end

local function quote(s)
  if H.windows then return '"' .. s .. '"' end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Run source as a script in a child process of this runner (arg[-1]), so
-- that a crash there, or the exit it tests, ends the child only. Returns
-- what closing the child returns (true, "exit", 0 when it exits with 0),
-- then all it wrote to stdout and stderr.
function T.run_child(source)
  local script = os.tmpname()
  -- Windows' tmpnam names a file in the root of the drive: put it in TEMP.
  if H.windows then script = os.getenv("TEMP") .. script end
  local f = assert(io.open(script, "w"))
  f:write(source)
  f:close()
  local command = quote(arg[-1]) .. " " .. quote(script) .. " 2>&1"
  -- cmd.exe drops the first and the last quote of a command: give it a pair.
  if H.windows then command = '"' .. command .. '"' end
  local child = assert(io.popen(command))
  local output = child:read("a")
  local ok, how, code = child:close()
  os.remove(script)
  return ok, how, code, output
end

return T
