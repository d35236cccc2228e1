-- GET a list of 20 products of a random category (indexed field). The first script argument
-- is the path template, with CAT where the category goes.
local template
function init(args)
  template = args[1]
  math.randomseed(os.time())
end
request = function()
  local path = string.gsub(template, "CAT", "cat-" .. math.random(0, 19))
  return wrk.format("GET", path)
end
