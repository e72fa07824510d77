-- wrk script for bench/api/login.sh: POST /api/v1/auth/login with the users in the file given
-- after "--" (one "email password" per line), round robin per thread.
-- With a second argument "wrong", every password is wrong (the failed-login path).
local users = {}
local index = 0
local wrong = false

function init(args)
  for line in io.lines(args[1]) do
    local email, password = line:match("^(%S+)%s+(%S+)$")
    if email then
      users[#users + 1] = { email, password }
    end
  end
  wrong = args[2] == "wrong"
  index = math.random(#users)
end

function request()
  index = index % #users + 1
  local user = users[index]
  local password = wrong and (user[2] .. "-wrong") or user[2]
  local body = string.format('{"email":"%s","password":"%s"}', user[1], password)
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end

-- Per-status counts, summed over threads in done(): "status: 200=310 503=56812".
s200, s401, s429, s503, sother = 0, 0, 0, 0, 0
function response(status)
  if status == 200 then s200 = s200 + 1
  elseif status == 401 then s401 = s401 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 503 then s503 = s503 + 1
  else sother = sother + 1 end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local totals = { s200 = 0, s401 = 0, s429 = 0, s503 = 0, sother = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  io.write(string.format("status: 200=%d 401=%d 429=%d 503=%d other=%d\n",
    totals.s200, totals.s401, totals.s429, totals.s503, totals.sother))
end
