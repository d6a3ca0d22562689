-- hostile.lua: the hostile clients of the soak (tests/bench/soak.sh).
--   moonport tests/bench/hostile.lua PORT SECONDS [http]
-- For SECONDS, against 127.0.0.1:PORT, keeps up at once:
--   SLOW slowloris clients: one byte every second (a request header that
--     never ends, for http), each giving up after 30 s for a fresh one;
--   READERLESS never-readers: 1 MiB sent, nothing read, closed after 10 s;
--   a resetter every 20 ms: data sent, then closed with the answer unread,
--     so that the kernel resets the connection;
--   with http, a garbage sender every 20 ms: random bytes and a line end,
--     then it reads until the server closes.
-- Prints what it did at the end: "hostile: slow=... readerless=...".
local mp = require "moonport"

local port, seconds, http = math.tointeger(tonumber(arg[1])), tonumber(arg[2]), arg[3] == "http"
if not port or not seconds then
  io.stderr:write("usage: moonport hostile.lua PORT SECONDS [http]\n")
  os.exit(2)
end
local HOST, SLOW, READERLESS, EVERY_MS = "127.0.0.1", 20, 4, 20
local counts = { slow = 0, readerless = 0, resets = 0, garbage = 0, failed = 0 }
local ending = false
local open = {} -- every connection still open, to close at the end

local function connect(kind, on_conn)
  mp.tcp.connect(HOST, port, function(err, conn)
    if err then
      counts.failed = counts.failed + 1
      return
    end
    counts[kind] = counts[kind] + 1
    open[conn] = true
    on_conn(conn)
  end)
end

local function close(conn)
  open[conn] = nil
  conn:close()
end

-- Read and drop everything; close at EOF or error.
local function drain(conn)
  conn:read_start(function(_, data)
    if not data then close(conn) end
  end)
end

local function slowloris()
  if ending then return end
  connect("slow", function(conn)
    local sent = 0
    if http then conn:write("GET / HTTP/1.1\r\n") end
    drain(conn)
    mp.every(1000, function(tick)
      sent = sent + 1
      if conn:closed() or sent >= 30 or ending then
        tick:stop()
        if not conn:closed() then close(conn) end
        slowloris()
      else
        conn:write("x")
      end
    end)
  end)
end

local MIB = string.rep("n", 1024 * 1024)
local function readerless()
  if ending then return end
  connect("readerless", function(conn)
    conn:write(http and "POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n" or "")
    conn:write(MIB)
    mp.timer(10000, function()
      close(conn)
      readerless()
    end)
  end)
end

local function resetter()
  connect("resets", function(conn)
    conn:write(http and "GET / HTTP/1.1\r\n\r\n" or string.rep("r", 4096))
    mp.timer(5, function() close(conn) end) -- the answer is unread by then: a reset
  end)
end

local function garbage()
  connect("garbage", function(conn)
    local bytes = {}
    for i = 1, math.random(1, 200) do bytes[i] = string.char(math.random(0, 255)) end
    conn:write(table.concat(bytes) .. "\r\n\r\n")
    drain(conn)
  end)
end

for _ = 1, SLOW do slowloris() end
for _ = 1, READERLESS do readerless() end
local churn = mp.every(EVERY_MS, function()
  resetter()
  if http then garbage() end
end)
mp.timer(seconds * 1000, function()
  ending = true
  churn:stop()
  for conn in pairs(open) do conn:close() end
  open = {}
end)
mp.run()
print(string.format("hostile: slow=%d readerless=%d resets=%d garbage=%d connect_failed=%d",
  counts.slow, counts.readerless, counts.resets, counts.garbage, counts.failed))
