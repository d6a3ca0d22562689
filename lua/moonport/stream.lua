-- stream.lua: the receive buffer behind the coroutine form's reads
-- (read(n), read_line, read_until, read_some), with no loop in it: chunks go
-- in with push, the reads take what they can from what is buffered. A read
-- that needs more data returns false; the caller pushes the next chunk and
-- asks again. Kept apart from tcp.lua so that it can be tested and fuzzed
-- with any chunking (tests/fuzz/fuzz_stream.c).
local find, sub, byte = string.find, string.sub, string.byte
local concat = table.concat

local stream = {}

local CR = byte("\r")

local TOO_LONG = {} -- find_delim's answer when the delimiter is too far

-- A new, empty buffer. Invariants: it holds chunks[first..last], of which
-- chunks[first] starts at byte off; size is the number of bytes it holds.
-- scan_* remember how far find_delim searched for scan_delim, so that a
-- read waiting for more data searches every byte once; any take starts the
-- search again (scan_delim nil).
function stream.new()
  return { chunks = {}, first = 1, last = 0, off = 1, size = 0,
           scan_delim = nil, scan_index = 1, scan_base = 0, scan_tail = "" }
end

-- Append data to buf (empty strings are dropped).
function stream.push(buf, data)
  if #data > 0 then
    buf.last = buf.last + 1
    buf.chunks[buf.last] = data
    buf.size = buf.size + #data
  end
end

-- Remove the first n buffered bytes (0 <= n <= size) and return them as one
-- string; only what is returned is concatenated.
local function take(buf, n)
  buf.size = buf.size - n
  buf.scan_delim = nil
  local chunks, first, off = buf.chunks, buf.first, buf.off
  local result, parts
  while n > 0 do
    local c = chunks[first]
    local avail = #c - off + 1
    local piece
    if n < avail then
      piece = sub(c, off, off + n - 1)
      off = off + n
      n = 0
    else
      piece = off == 1 and c or sub(c, off)
      chunks[first] = nil
      first, off = first + 1, 1
      n = n - avail
    end
    if parts then
      parts[#parts + 1] = piece
    elseif result then
      parts = { result, piece }
    else
      result = piece
    end
  end
  if first > buf.last then -- empty: start the indices again
    first, buf.last = 1, 0
  end
  buf.first, buf.off = first, off
  return parts and concat(parts) or result or ""
end
stream.take = take

-- The buffered byte at position p (1 <= p <= size).
local function byte_at(buf, p)
  local i, off = buf.first, buf.off
  while true do
    local c = buf.chunks[i]
    local avail = #c - off + 1
    if p <= avail then
      return byte(c, off + p - 1)
    end
    p, i, off = p - avail, i + 1, 1
  end
end

-- The position of the first byte of delim in buf; nil, TOO_LONG when it
-- comes after more than limit bytes (or is not within the limit + #delim
-- bytes buffered); false while more data could bring it. A chunk is
-- searched by itself, and a match across chunks in the seam of the `keep`
-- bytes before a chunk and the first `keep` bytes of it. So the buffer
-- never needs more than limit + #delim bytes and one chunk.
local function find_delim(buf, delim, limit)
  local keep = #delim - 1
  local index, base, tail -- next chunk to search; bytes before it; the last keep of them
  if buf.scan_delim == delim then
    index, base, tail = buf.scan_index, buf.scan_base, buf.scan_tail
  else
    index, base, tail = buf.first, 0, ""
  end
  local chunks, last, first = buf.chunks, buf.last, buf.first
  while index <= last do
    local c = chunks[index]
    local init = index == first and buf.off or 1
    local pos
    if tail ~= "" then
      local q = find(tail .. sub(c, 1, keep), delim, 1, true)
      pos = q and base - #tail + q
    end
    if not pos then
      local q = find(c, delim, init, true)
      pos = q and base + q - init + 1
    end
    if pos then
      buf.scan_delim = nil
      if pos - 1 > limit then
        return nil, TOO_LONG
      end
      return pos
    end
    local fresh = #c - init + 1
    if keep > 0 then
      tail = fresh >= keep and sub(c, -keep) or sub(tail .. sub(c, init), -keep)
    end
    base, index = base + fresh, index + 1
  end
  if buf.size >= limit + #delim then
    buf.scan_delim = nil
    return nil, TOO_LONG
  end
  buf.scan_delim, buf.scan_index, buf.scan_base, buf.scan_tail = delim, index, base, tail
  return false
end

-- read(buf, n) -> exactly n bytes, or false while fewer are buffered.
function stream.read(buf, n)
  if buf.size < n then
    return false
  end
  return take(buf, n)
end

-- read_some(buf) -> all that is buffered, or false if nothing is.
function stream.read_some(buf)
  if buf.size == 0 then
    return false
  end
  return take(buf, buf.size)
end

-- read_line(buf, max) -> the next line without "\n" or "\r\n"; false while
-- no "\n" is buffered and the line may still fit; nil, "line too long" and
-- the first max bytes of a longer line (the rest stays buffered).
function stream.read_line(buf, max)
  local pos, err = find_delim(buf, "\n", max + 1) -- + 1: a "\r" before the "\n"
  if pos then
    local len = pos - 1
    local crlf = len > 0 and byte_at(buf, len) == CR
    if crlf then
      len = len - 1
    end
    if len <= max then
      local line = take(buf, len)
      take(buf, crlf and 2 or 1)
      return line
    end
  elseif err ~= TOO_LONG then
    return false
  end
  return nil, "line too long", take(buf, max)
end

-- read_until(buf, delim, max) -> the data before the next delim (delim is
-- consumed); false while no delim is buffered and the data may still fit;
-- nil, "too long" and the first max bytes when delim is not within max
-- bytes (the rest stays buffered).
function stream.read_until(buf, delim, max)
  local pos, err = find_delim(buf, delim, max)
  if pos then
    local data = take(buf, pos - 1)
    take(buf, #delim)
    return data
  elseif err ~= TOO_LONG then
    return false
  end
  return nil, "too long", take(buf, max)
end

return stream
