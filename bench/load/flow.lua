-- GET the URL's path with a random ?qty= (1..10), so both branches of the flow run.
function init(args)
  math.randomseed(os.time())
end
request = function()
  return wrk.format("GET", wrk.path .. "?qty=" .. math.random(1, 10))
end
