-- wrk script for bench/pipeline.py: POST /upload with distinct multipart bodies read from the
-- folder in BODIES_DIR (files 0.bin, 1.bin, ...; count in BODIES_COUNT), round robin, and a
-- JSON summary of latency and status codes at the end.
local boundary = "kubevisionbenchboundary"
local bodies = {}
local next_body = 1
local failures = 0

function init(args)
  local dir = os.getenv("BODIES_DIR")
  local count = tonumber(os.getenv("BODIES_COUNT"))
  local thread_id = tonumber(os.getenv("WRK_THREAD") or "0")
  for i = 0, count - 1 do
    local f = assert(io.open(dir .. "/" .. i .. ".bin", "rb"))
    bodies[#bodies + 1] = f:read("*all")
    f:close()
  end
  next_body = math.random(1, #bodies)
end

function request()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/upload", {
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
  }, body)
end

function response(status, headers, body)
  if status >= 300 then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
