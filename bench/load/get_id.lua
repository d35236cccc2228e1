-- GET <URL path>/<random seeded id>; the ids file is the first script argument.
local ids = {}
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  math.randomseed(os.time() + #ids)
end
request = function()
  return wrk.format("GET", wrk.path .. "/" .. ids[math.random(#ids)])
end
