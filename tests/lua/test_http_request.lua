-- test_http_request.lua: the request parser of examples/http_hello.lua
-- (examples/http_request.lua), with the inputs tests/fuzz/fuzz_http.c
-- fails on kept as regression tests.
local lu = require "luaunit"
local H = require "helper"

-- examples/ is next to tests/: from this file's directory, ../../examples.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
package.path = here .. "../../examples/?.lua;" .. package.path
local request = require "http_request"

TestHttpRequest = H.class()

function TestHttpRequest:test_a_complete_request_and_its_prefixes()
  local req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
  lu.assertEquals({ request.parse(req, 1) }, { 200, #req + 1, 0, false, 1 })
  for n = 1, #req - 1 do
    lu.assertNil(request.parse(req:sub(1, n), 1), "prefix of " .. n .. " bytes")
  end
end

function TestHttpRequest:test_pipelined_requests_with_a_body()
  local data = "POST /a HTTP/1.0\r\nContent-Length: 3\r\nConnection: Keep-Alive\r\n\r\nabc"
    .. "GET /b HTTP/1.1\r\nconnection: close\r\n\r\n"
  local status, after, body, close, minor = request.parse(data, 1)
  lu.assertEquals({ status, body, close, minor }, { 200, 3, false, 0 })
  status, after, body, close = request.parse(data, after + body)
  lu.assertEquals({ status, after, body, close }, { 200, #data + 1, 0, true })
end

function TestHttpRequest:test_refusals()
  local function status(data) return (request.parse(data, 1)) end
  lu.assertEquals(status("get / http/1.1\r\n"), 400)
  lu.assertEquals(status("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400)
  lu.assertEquals(status("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 501)
  lu.assertEquals(status("GET / HTTP/1.1\r\nX: " .. ("x"):rep(request.MAX_HEADER)), 431)
  lu.assertEquals(status("GET / HTTP/1.1\r\nX: " .. ("x"):rep(request.MAX_HEADER) .. "\r\n\r\n"), 431)
end

-- Fails fuzz_http's checks: a Content-Length near 2^63 overflowed the position of
-- the next request (after + body), which sent the server's loop back into
-- data it had answered. Lengths over MAX_BODY are refused with 413.
function TestHttpRequest:test_content_length_that_would_overflow_is_refused()
  local huge = "GET / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n"
  lu.assertEquals((request.parse(huge, 1)), 413)
  local over = "GET / HTTP/1.1\r\nContent-Length: " .. (request.MAX_BODY + 1) .. "\r\n\r\n"
  lu.assertEquals((request.parse(over, 1)), 413)
  local max = "GET / HTTP/1.1\r\nContent-Length: " .. request.MAX_BODY .. "\r\n\r\n"
  lu.assertEquals(select(3, request.parse(max, 1)), request.MAX_BODY)
end

H.run_tests()
