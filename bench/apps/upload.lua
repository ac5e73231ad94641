-- wrk script for the upload scenario: POSTs a body of args[1] bytes on every request and counts
-- responses whose body is not that length (printed as "BAD_BODIES n").
--   wrk -t1 -c4 -d5s -s bench/apps/upload.lua URL -- 10485760
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = args[1]
  bad = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/octet-stream"
  wrk.body = string.rep("x", tonumber(expected))
end

function response(status, headers, body)
  if status ~= 200 or body ~= expected then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, thread in ipairs(threads) do
    n = n + thread:get("bad")
  end
  io.write(string.format("BAD_BODIES %d\n", n))
end
