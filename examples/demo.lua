-- demo.lua: a short tour of moonport. Run it with: build/moonport examples/demo.lua
-- It shows the loop, timers, coroutines, error handling, TCP, files, UDP,
-- name resolution and signals, and exits by itself when nothing is left to
-- wait for.
local mp = require "moonport"

local start = mp.now()
local function say(fmt, ...)
  print(string.format("[%6.1f ms] " .. fmt, mp.now() - start, ...))
end

say("moonport %s on the %s port with %d worker threads", mp.version, mp.backend(), mp.workers())

-- Callback style: one-shot and repeating timers. Each expiry travels from
-- the timer thread through the completion port to this thread.
mp.timer(30, function() say("one-shot timer fired after 30 ms") end)

local laps = 0
mp.every(10, function(t)
  laps = laps + 1
  say("every 10 ms: lap %d", laps)
  if laps == 3 then
    t:stop()
    say("repeating timer stopped")
  end
end)

-- Coroutine style: the same waits, written straight down.
mp.spawn(function()
  for i = 1, 2 do
    mp.sleep(15)
    say("coroutine woke up (%d of 2)", i)
  end
end)

-- An error in a callback neither crashes the loop nor vanishes: it goes to
-- the error handler (default: stderr) with its traceback.
mp.on_error(function(message)
  say("error handler got: %s", message:match("^[^\n]*"))
end)
mp.timer(40, function() error("a callback failed on purpose") end)

-- TCP: a server in the callback form, on a port the system picks, and a
-- client in the coroutine form that talks to it. Closing both leaves
-- nothing to wait for, so the script ends by itself.
mp.timer(60, function()
  local server = assert(mp.tcp.listen("127.0.0.1", 0, function(err, conn)
    if err then
      return say("accept failed: %s", err)
    end
    conn:read_start(function(_, data) -- shout back each chunk; close at EOF or on error
      if data then
        conn:write(data:upper())
      else
        conn:close()
      end
    end)
  end))
  local host, port = server:address()
  say("TCP server listening on %s port %d", host, port)

  mp.spawn(function()
    local sock = assert(mp.tcp.connect(host, port))
    say("client connected; it sends a line")
    sock:write("hello over tcp\n")
    local line, err = sock:read_line()
    say("client got back: %s", line or err)
    sock:close()
    server:close()
    say("TCP client and server closed")
  end)
end)

-- Files: written and read back without blocking the loop (io_uring ops, or
-- the work threads on epoll), in the coroutine form.
mp.timer(90, function()
  mp.spawn(function()
    local path = os.tmpname()
    assert(mp.fs.write_file(path, "hello from a file\n"))
    local st = assert(mp.fs.stat(path))
    local data = assert(mp.fs.read_file(path))
    say("file of %d bytes read back: %s", st.size, (data:gsub("\n$", "")))
    local _, err = mp.fs.read_file(path .. ".missing")
    say("a missing file: %s", err)
    assert(mp.fs.unlink(path))
  end)
end)

-- UDP: a datagram to ourselves and back, in the callback form.
mp.timer(110, function()
  local server = assert(mp.udp.bind("127.0.0.1", 0))
  local host, port = server:local_address()
  server:recv(function(_, data, from, from_port)
    say("UDP server got %q from port %d; it echoes", data, from_port)
    server:send(data, from, from_port)
  end)
  local client = assert(mp.udp.bind("127.0.0.1", 0))
  client:recv(function(_, data)
    say("UDP client got back %q; both close, and with nothing left to wait for the runner exits", data)
    client:close()
    server:close()
  end)
  client:send("ping", host, port)
end)
