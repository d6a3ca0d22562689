-- test_tcp_emfile.lua: mp.tcp out of descriptors. A server tells
-- on_connection "EMFILE" once, pauses, and accepts again once descriptors
-- are free; connect and listen fail with EMFILE. It needs a low limit, so
-- ctest runs it as
--   sh -c "ulimit -n 64 && exec moonport test_tcp_emfile.lua -o text"
-- and it skips itself under a high one.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local T = require "tcp_helper"

TestTcpEmfile = T.class()

local LOW_LIMIT = 256 -- above this, the test would take too long: it skips

local function need_low_limit()
  H.skip_on_windows("no descriptor limit to lower (ulimit): sockets are handles, bounded by memory")
  local limit = T.fd_limit()
  if not limit or limit > LOW_LIMIT then
    lu.skip("needs a low descriptor limit (ulimit -n 64), the limit is " .. tostring(limit))
  end
end

-- How many descriptors are free, counted up to most (by opening files).
local function free_fds(most)
  local files = {}
  for i = 1, most do
    files[i] = io.open("/dev/null")
    if not files[i] then break end
  end
  for _, f in ipairs(files) do
    f:close()
  end
  return #files
end

-- Clients connect one at a time, each accepted before the next (two
-- descriptors each), until one gets the last descriptor for its socket and
-- the server has none left to accept it. Then some clients close, and the
-- server accepts again: the client that waited, then a new one. (No
-- connect itself runs out of descriptors here: that is the next test.)
function TestTcpEmfile:test_accept_reports_emfile_once_and_resumes()
  need_low_limit()
  local sc = T.scope(10000)
  local clients, emfile = {}, {}
  local phase = "filling" -- then "exhausted", "resuming"; over once sc.ended
  local stuck_port, resumed_port, new_port, emfile_after_wait
  local reserve = assert(io.open("/dev/null")) -- one descriptor held back
  local server, host, port

  local function open_client()
    local conn = sc.add(assert(mp.tcp.connect(host, port, function(e)
      if not sc.ended then lu.assertNil(e) end -- else closed by the scope
    end)))
    clients[#clients + 1] = conn
    return conn
  end

  local function next_client()
    if #clients >= LOW_LIMIT then
      lu.fail("no EMFILE after " .. #clients .. " clients")
    end
    if free_fds(2) == 0 then
      reserve:close() -- now exactly one is free, for the client's socket
      reserve = nil
    end
    open_client()
  end

  local function on_emfile()
    if sc.ended or phase ~= "filling" then return end
    phase = "exhausted"
    stuck_port = select(2, clients[#clients]:local_address())
    -- Accepting retries while paused: EMFILE must not be told again.
    mp.timer(350, function()
      emfile_after_wait = #emfile
      phase = "resuming"
      for i = 1, 4 do
        clients[i]:close()
      end
    end)
  end

  local function on_accept(conn)
    if sc.ended then
      return
    elseif phase == "filling" then
      next_client()
    elseif phase == "resuming" and not resumed_port then
      -- The client that waited in the backlog comes first; then a new one.
      resumed_port = select(2, conn:peer())
      new_port = select(2, open_client():local_address())
    elseif phase == "resuming" then
      lu.assertEquals(select(2, conn:peer()), new_port)
      sc.done()
    end
  end

  server = sc.add(assert(mp.tcp.listen(T.HOST, 0, function(err, conn, code)
    if err then
      lu.assertNil(conn)
      emfile[#emfile + 1] = { err = err, code = code }
      on_emfile()
    else
      sc.add(conn)
      on_accept(conn)
    end
  end)))
  host, port = server:address()
  next_client()
  sc.run()
  if reserve then reserve:close() end

  lu.assertTrue(#emfile >= 1, "accept never reported EMFILE")
  lu.assertStrMatches(emfile[1].err, "EMFILE: accept: .+")
  lu.assertEquals(emfile[1].code, "EMFILE")
  lu.assertEquals(resumed_port, stuck_port, "the waiting client was not accepted once descriptors were free")
  lu.assertNotNil(new_port, "a new client was not accepted")
  lu.assertEquals(emfile_after_wait, 1, "EMFILE told again while paused")
  lu.assertEquals(#emfile, 1, "EMFILE told more than once")
end

-- With no descriptor left, connect and listen return nil, "EMFILE: ...",
-- "EMFILE". Run in a child process, so that a crash fails this test only.
function TestTcpEmfile:test_connect_and_listen_fail_with_emfile()
  need_low_limit()
  local ok, how, code, output = T.run_child([[
    local mp = require "moonport"
    local server = assert(mp.tcp.listen("127.0.0.1", 0))
    local host, port = server:address()
    local files = {}
    while #files < 10000 do
      local file = io.open("/dev/null")
      if not file then break end
      files[#files + 1] = file
    end
    local conn, cerr, ccode = mp.tcp.connect(host, port, function() end)
    local other, lerr, lcode = mp.tcp.listen("127.0.0.1", 0)
    for _, file in ipairs(files) do file:close() end
    print(tostring(conn), cerr, ccode)
    print(tostring(other), lerr, lcode)
    server:close()
  ]])
  lu.assertEquals({ ok, how, code }, { true, "exit", 0 }, "the child: " .. output)
  lu.assertStrMatches(output, "nil\tEMFILE: connect: [^\n]+\tEMFILE\nnil\tEMFILE: listen: [^\n]+\tEMFILE\n")
end

H.run_tests()
