/// <reference path="../pb_data/types.d.ts" />
// PocketBase counterpart of the Stratus bench flow `GET /flow?qty=N` (bench/load/project):
// the same ten steps (two assignments, three arithmetic updates, a branch, number-to-text,
// concatenation, upper-casing, a JSON response), written as a JS hook route. No I/O.
routerAdd("GET", "/api/bench/flow", (e) => {
  const qty = parseInt(e.request.url.query().get("qty"), 10);
  const price = 19.99;
  let total = price * qty;
  total = total + 5;
  let discount;
  if (total > 100) {
    discount = 0.1;
  } else {
    discount = 0;
  }
  const final = total * (1 - discount);
  const totalText = String(final);
  const label = "total=" + totalText;
  const upper = label.toUpperCase();
  return e.json(200, { qty: qty, total: final, discount: discount, label: upper });
});
