-- fs.lua: mp.fs: the coroutine form of the C calls (registered with
-- mp.fs.coroutine_form, so that a C call without its callback waits
-- here), and the whole-file helpers read_file and write_file in both forms.
-- Callback form: cb(err, value), failures cb(err, nil, code). Coroutine
-- form: value, or nil, err, code.
local core = require "moonport.core"
local coro = require "moonport.coro"

local step, current = coro.step, coro.current
local yield = coroutine.yield
local concat = table.concat
local max, min = math.max, math.min

local core_fs = core.fs

-- The largest read one op does, and so the largest file read_file reads.
local MAX_READ = 64 * 1024 * 1024
-- read_file reads at least this much per op (a file may grow after its stat).
local MIN_CHUNK = 64 * 1024

-- Start an op with start(cb) and wait for its callback: value, or nil,
-- err, code. A call that fails at once (a closed file) returns its
-- failure without waiting.
-- level: where a call outside a coroutine is blamed, as current() counts.
local function wait(what, level, start)
  local co = current(what, level)
  local ok, err, code = start(function(...)
    step(co, ...)
  end)
  if ok == nil and err then
    return nil, err, code
  end
  local e, value, c = yield()
  if e then
    return nil, e, c
  end
  return value
end

local file_methods = core_fs.file_methods
local C = {
  open = core_fs.open,
  read = file_methods.read,
  write = file_methods.write,
  fsync = file_methods.fsync,
  stat = file_methods.stat,
}

core_fs.coroutine_form({
  open = function(path, flags, mode)
    return wait("mp.fs.open", 4, function(cb)
      if mode == nil then
        return C.open(path, flags, cb)
      end
      return C.open(path, flags, mode, cb)
    end)
  end,
  stat = function(path)
    return wait("mp.fs.stat", 4, function(cb)
      return core_fs.stat(path, cb)
    end)
  end,
  unlink = function(path)
    return wait("mp.fs.unlink", 4, function(cb)
      return core_fs.unlink(path, cb)
    end)
  end,
  rename = function(from, to)
    return wait("mp.fs.rename", 4, function(cb)
      return core_fs.rename(from, to, cb)
    end)
  end,
  mkdir = function(path, mode)
    return wait("mp.fs.mkdir", 4, function(cb)
      if mode == nil then
        return core_fs.mkdir(path, cb)
      end
      return core_fs.mkdir(path, mode, cb)
    end)
  end,
  rmdir = function(path)
    return wait("mp.fs.rmdir", 4, function(cb)
      return core_fs.rmdir(path, cb)
    end)
  end,
  scandir = function(path)
    return wait("mp.fs.scandir", 4, function(cb)
      return core_fs.scandir(path, cb)
    end)
  end,
  read = function(file, n, offset)
    return wait("file:read", 4, function(cb)
      return C.read(file, n, offset, cb)
    end)
  end,
  write = function(file, data, offset)
    return wait("file:write", 4, function(cb)
      return C.write(file, data, offset, cb)
    end)
  end,
  fsync = function(file)
    return wait("file:fsync", 4, function(cb)
      return C.fsync(file, cb)
    end)
  end,
  file_stat = function(file)
    return wait("file:stat", 4, function(cb)
      return C.stat(file, cb)
    end)
  end,
})

local fs = {}
for name, fn in pairs(core_fs) do
  if name ~= "coroutine_form" and name ~= "file_methods" then
    fs[name] = fn
  end
end
fs.MAX_READ = MAX_READ

local function check_cb(cb, n, name)
  if cb ~= nil and type(cb) ~= "function" then
    error("bad argument #" .. n .. " to '" .. name .. "' (function expected, got " .. type(cb) .. ")", 3)
  end
end

local function check_path(path, name)
  if type(path) ~= "string" then
    error("bad argument #1 to '" .. name .. "' (string expected, got " .. type(path) .. ")", 3)
  end
end

-- Read the open file f to its end into one string, at most MAX_READ bytes
-- (EFBIG past that); cb(err, data) or cb(err, nil, code).
local function read_all(f, path, size, cb)
  local parts, total = {}, 0
  local function too_big()
    cb("EFBIG: read_file '" .. path .. "': file too large (more than " .. MAX_READ .. " bytes)", nil, "EFBIG")
  end
  if size > MAX_READ then
    return too_big()
  end
  local function next_chunk()
    -- One byte more than the limit allows shows a file that grew past it.
    local want = min(max(size - total, MIN_CHUNK), MAX_READ + 1 - total)
    C.read(f, min(want, MAX_READ), total, function(err, data, code)
      if err then
        return cb(err, nil, code)
      elseif data == "" then
        return cb(nil, concat(parts))
      end
      parts[#parts + 1] = data
      total = total + #data
      if total > MAX_READ then
        return too_big()
      end
      next_chunk()
    end)
  end
  next_chunk()
end

-- mp.fs.read_file(path, cb): cb(err, data) with the whole file, which may
-- hold at most fs.MAX_READ (64 MiB) bytes: a bigger one fails with EFBIG
-- (read it in chunks with mp.fs.open and file:read). Without cb (inside
-- mp.spawn): data, or nil, err, code.
function fs.read_file(path, cb)
  check_path(path, "read_file")
  check_cb(cb, 2, "read_file")
  if cb == nil then
    return wait("mp.fs.read_file", 3, function(k)
      fs.read_file(path, k)
      return true
    end)
  end
  C.open(path, "r", function(err, f, code)
    if err then
      return cb(err, nil, code)
    end
    C.stat(f, function(serr, st, scode)
      if serr then
        f:close()
        return cb(serr, nil, scode)
      end
      read_all(f, path, st.size, function(...)
        f:close()
        cb(...)
      end)
    end)
  end)
end

-- mp.fs.write_file(path, data, cb): cb(err, true) once data has replaced
-- the file's contents (created with mode 0666 less the umask). Without cb:
-- true, or nil, err, code.
function fs.write_file(path, data, cb)
  check_path(path, "write_file")
  if type(data) ~= "string" then
    error("bad argument #2 to 'write_file' (string expected, got " .. type(data) .. ")", 2)
  end
  check_cb(cb, 3, "write_file")
  if cb == nil then
    return wait("mp.fs.write_file", 3, function(k)
      fs.write_file(path, data, k)
      return true
    end)
  end
  C.open(path, "w", function(err, f, code)
    if err then
      return cb(err, nil, code)
    end
    C.write(f, data, 0, function(werr, _, wcode)
      f:close()
      if werr then
        return cb(werr, nil, wcode)
      end
      cb(nil, true)
    end)
  end)
end

return fs
