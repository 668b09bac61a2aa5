/* pixelpost conversion pixel loader.
 *
 * <script async src="https://TRACKER/v1/conversion/pixel.js"
 *   data-account="acme" data-webinar-id="4429 2527" data-tag="course_sales"
 *   data-map="email:customer_email,orderId:order,amount:total,currency:currency"></script>
 *
 * It reads the thank-you page's own query parameters, renames them through
 * data-map (pixel parameter:page parameter, comma-separated; defaults to the
 * same names), and fires the pixel once. Nothing is sent when data-account is
 * missing.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var d = script.dataset;
  if (!d.account) return;
  var page = new URLSearchParams(window.location.search);
  var map = { email: "email", orderId: "orderId", amount: "amount", currency: "currency",
              productId: "productId", productName: "productName" };
  (d.map || "").split(",").forEach(function (pair) {
    var kv = pair.split(":");
    if (kv.length === 2 && kv[0].trim() && kv[1].trim()) map[kv[0].trim()] = kv[1].trim();
  });
  var q = new URLSearchParams();
  (d.webinarId || "").split(/[\s,]+/).forEach(function (w) { if (w) q.append("webinarId", w); });
  (d.tag || "").split(/[\s,]+/).forEach(function (t) { if (t) q.append("tag", t); });
  Object.keys(map).forEach(function (param) {
    var v = page.get(map[param]);
    if (v) q.set(param, v);
  });
  var origin = new URL(script.src).origin;
  var img = new Image(1, 1);
  img.alt = "";
  img.src = origin + "/v1/conversion/pixel/" + encodeURIComponent(d.account) + "?" + q.toString();
})();
