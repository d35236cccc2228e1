-- POST a new product (unique name) to the URL's path; the same body for both systems.
local counter = 0
local cats = 20
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end
request = function()
  counter = counter + 1
  local c = counter % cats
  local body = string.format(
    '{"name":"wrk-%s-%d","price":%d.5,"category":"cat-%d","stock":%d,"tags":["bench","cat-%d"]}',
    tid, counter, counter % 500, c, counter % 1000, c)
  return wrk.format("POST", nil, {["content-type"] = "application/json"}, body)
end
