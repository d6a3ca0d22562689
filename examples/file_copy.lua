-- file_copy.lua: copy a file of any size with bounded memory, streaming it
-- in chunks with a few reads in flight ahead of the writes.
--
--   moonport examples/file_copy.lua SRC DST [chunk_kib [window]]
--
-- Reads run up to `window` chunks ahead (several in flight at once); the
-- chunks are written one at a time, in order, as they arrive: at most
-- `window` chunks are in memory (defaults: 1024 KiB, 4, so about 8 MiB
-- with the read buffers). One write at a time, because concurrent buffered
-- writes to one file serialize on its inode lock in the kernel and are
-- slower than sequential ones. It prints the bytes copied, the time and
-- the rate on stderr, and exits with 1 on an error.
local mp = require "moonport"

local src_path, dst_path = arg[1], arg[2]
local chunk = math.tointeger(tonumber(arg[3] or "1024") or 0)
local window = math.tointeger(tonumber(arg[4] or "4") or 0)
if not src_path or not dst_path or not chunk or chunk < 1 or not window or window < 1 then
  io.stderr:write("usage: moonport file_copy.lua SRC DST [chunk_kib [window]]\n")
  os.exit(2)
end
chunk = chunk * 1024

local status = 0

local function fail(err)
  io.stderr:write("file_copy: ", tostring(err), "\n")
  status = 1
end

-- Copy src to dst (open files; size is src's) and call done(err) once.
local function copy(src, dst, size, done)
  local ready = {} -- chunk index -> data read and not yet written
  local next_read, next_write = 0, 0 -- chunk indices
  local reads_out, writing = 0, false
  local last -- index of the first chunk past the data, once a read found it
  local failed, finished = false, false
  local copied = 0
  local pump

  local function stop(err)
    if not failed then
      failed = true
      done(err)
    end
  end

  local function on_write(err, n)
    writing = false
    if err then
      return stop(err)
    end
    copied = copied + n
    next_write = next_write + 1
    pump()
  end

  local function read_chunk(i)
    reads_out = reads_out + 1
    src:read(chunk, i * chunk, function(err, data)
      reads_out = reads_out - 1
      if err then
        return stop(err)
      end
      -- A short read is the end of the file (or of what it held when read).
      if #data < chunk and (last == nil or i + (#data > 0 and 1 or 0) < last) then
        last = i + (#data > 0 and 1 or 0)
      end
      if #data > 0 then
        ready[i] = data
      end
      pump()
    end)
  end

  function pump()
    if failed or finished then
      return
    end
    while next_read - next_write < window and (last == nil or next_read < last) do
      read_chunk(next_read)
      next_read = next_read + 1
    end
    local data = ready[next_write]
    if not writing and data then
      ready[next_write] = nil
      writing = true
      dst:write(data, next_write * chunk, on_write)
    elseif not writing and reads_out == 0 and last and next_write >= last then
      finished = true
      if copied ~= size then
        return done("the source changed while it was copied (" .. copied .. " of " .. size .. " bytes)")
      end
      done(nil, copied)
    end
  end

  pump()
end

mp.spawn(function()
  local started = mp.now()
  local src, err = mp.fs.open(src_path, "r")
  if not src then
    return fail(err)
  end
  local st
  st, err = src:stat()
  if not st then
    src:close()
    return fail(err)
  end
  local dst
  dst, err = mp.fs.open(dst_path, "w", st.mode)
  if not dst then
    src:close()
    return fail(err)
  end
  copy(src, dst, st.size, function(cerr, copied)
    src:close()
    dst:close()
    if cerr then
      return fail(cerr)
    end
    local ms = mp.now() - started
    io.stderr:write(string.format("file_copy: %d bytes in %.0f ms (%.1f MB/s)\n", copied, ms,
      ms > 0 and copied / 1e6 / (ms / 1000) or 0))
  end)
end)

mp.run()
os.exit(status)
