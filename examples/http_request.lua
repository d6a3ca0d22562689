-- http_request.lua: the HTTP/1.x request-header parser of http_hello.lua,
-- on its own so that it can be tested and fuzzed (tests/fuzz/fuzz_http.c).
-- It judges one request header in a string and says how to answer it; it
-- never raises on any input.
local find, match, sub, lower = string.find, string.match, string.sub, string.lower

local request = {}

-- The longest header accepted: from the request line to the blank line,
-- both included. A longer one is refused with 431.
request.MAX_HEADER = 8192
local MAX_HEADER = request.MAX_HEADER

-- The longest body accepted (Content-Length); a longer one is refused with
-- 413. Without a bound, a length near 2^63 would overflow the position of
-- the next request (tests/fuzz/fuzz_http.c checks that it cannot).
request.MAX_BODY = 1 << 30
local MAX_BODY = request.MAX_BODY

-- A pattern matching "\r\nNAME:" in any letter case, and capturing the value.
local function header_pattern(name)
  local p = name:gsub("%a", function(ch) return "[" .. ch:upper() .. ch:lower() .. "]" end)
  return "\r\n" .. p:gsub("%-", "%%-") .. ":[ \t]*([^\r]*)"
end
local CONNECTION = header_pattern("connection")
local CONTENT_LENGTH = header_pattern("content-length")
local TRANSFER_ENCODING = header_pattern("transfer-encoding")

-- request.parse(data, pos) -> status, after, body, close, minor: judge the
-- request header starting at pos of data; nil while it is incomplete (and
-- within MAX_HEADER). status is 200 for a request to answer, or one of the
-- refusals, after which the connection closes: 400 (not HTTP/1.x, or a bad
-- Content-Length), 431 (header longer than MAX_HEADER), 501
-- (Transfer-Encoding). For 200: after is the position after the header,
-- body the length of the body that follows it, close whether to close
-- after answering, minor the HTTP/1.x version's digit (0 or 1).
function request.parse(data, pos)
  local last = find(data, "\r\n\r\n", pos, true)
  if not last or last + 3 - pos >= MAX_HEADER then
    -- Incomplete (or too long): judge what has come so far.
    if find(data, "\n", pos, true) and not find(data, "^%u+ %S+ HTTP/1%.[01]\r\n", pos) then
      return 400, 0, 0, true
    elseif #data - pos + 1 > MAX_HEADER then
      return 431, 0, 0, true
    end
    return nil
  end
  local minor = match(data, "^%u+ %S+ HTTP/1%.([01])\r\n", pos)
  if not minor then
    return 400, 0, 0, true
  end
  -- The header lines, each as "\r\nName: value", to look fields up in.
  local fields = sub(data, pos, last + 1)
  if find(fields, TRANSFER_ENCODING) then
    return 501, 0, 0, true
  end
  local body = 0
  local length = match(fields, CONTENT_LENGTH)
  if length then
    body = math.tointeger(tonumber(match(length, "^%d+$")))
    if not body then
      return 400, 0, 0, true
    elseif body > MAX_BODY then
      return 413, 0, 0, true
    end
  end
  local connection = match(fields, CONNECTION)
  connection = connection and lower(connection)
  local after = last + 4
  minor = minor == "1" and 1 or 0
  if connection and find(connection, "close", 1, true) then
    return 200, after, body, true, minor
  end
  -- HTTP/1.1 keeps the connection by default; HTTP/1.0 only if asked to.
  local keep = minor == 1 or (connection and find(connection, "keep-alive", 1, true))
  return 200, after, body, not keep, minor
end

return request
