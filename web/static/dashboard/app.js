/* pixelpost dashboard: a page over the admin API (README "API"). It keeps
 * the token (the admin token or an account key) in this tab's
 * sessionStorage and sends it as a bearer token; every value shown is set
 * as text, never as HTML, and the server's Content-Security-Policy allows
 * no other script and no request elsewhere. Charts are inline SVG drawn
 * here.
 */
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var state = {
    token: sessionStorage.getItem("pp_token") || "",
    account: sessionStorage.getItem("pp_account") || "",
    acct: null, // the account's answer: default_currency, timezone, rates
    templates: null, // GET /templates
    webinar: "",
    overview: "last_7_days",
  };

  // ---------------------------------------------------------------- API

  // api calls the admin API and returns the decoded JSON answer (or, with
  // raw, the Response); an error answer throws an Error with its code.
  function api(method, path, body, opts) {
    opts = opts || {};
    var headers = { Authorization: "Bearer " + state.token };
    var payload;
    if (typeof body === "string") {
      payload = body;
      headers["Content-Type"] = opts.type || "text/csv";
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    return fetch("/api/v1" + path, { method: method, headers: headers, body: payload }).then(function (res) {
      if (opts.raw && res.ok) return res;
      return res.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
        if (!res.ok) {
          var err = new Error(data.message || data.error || res.statusText);
          err.status = res.status;
          err.code = data.error || "";
          throw err;
        }
        return data;
      });
    });
  }

  function accountPath() { return "/accounts/" + encodeURIComponent(state.account); }
  function acctAPI(method, path, body, opts) { return api(method, accountPath() + path, body, opts); }

  // query builds "?a=1&b=2" from an object, leaving out empty values.
  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === undefined || v === null || v === "") return;
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  // download fetches an API file with the token and saves it.
  function download(path, filename) {
    return acctAPI("GET", path, undefined, { raw: true })
      .then(function (res) { return res.blob(); })
      .then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = filename;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
        status("Downloaded " + filename + ".");
      }).catch(fail);
  }

  // --------------------------------------------------------- DOM helpers

  function status(msg, isError) {
    var s = $("status");
    s.textContent = msg || "";
    s.className = isError ? "error" : "";
  }

  function fail(err) { status(err.message, true); }

  // el makes an element: attrs are properties (className, type, ...) or,
  // for names with a dash, attributes; children are nodes or text.
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k.indexOf("-") >= 0) e.setAttribute(k, attrs[k]);
      else e[k] = attrs[k];
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    });
    return e;
  }

  function button(text, onClick, cls, label) {
    var b = el("button", { type: "button", textContent: text, className: cls || "" });
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  // confirmButton asks for a second click before doing something that
  // cannot be undone.
  function confirmButton(text, label, action) {
    var b = button(text, function () {
      if (!b.dataset.armed) {
        b.dataset.armed = "1";
        b.textContent = "Click again to " + text.toLowerCase();
        setTimeout(function () { b.dataset.armed = ""; b.textContent = text; }, 6000);
        return;
      }
      b.disabled = true;
      action();
    }, "danger", label);
    return b;
  }

  // cell makes a table cell; cls "num" right-aligns it.
  function cell(value, cls) {
    var td = document.createElement("td");
    if (value instanceof Node) td.appendChild(value);
    else td.textContent = value === undefined || value === null ? "" : String(value);
    if (cls) td.className = cls;
    return td;
  }

  function row(cells, attrs) {
    var tr = el("tr", attrs || {});
    cells.forEach(function (c) { tr.appendChild(c instanceof Node && c.tagName === "TD" ? c : cell(c)); });
    return tr;
  }

  function fill(tbody, rows) { tbody.replaceChildren.apply(tbody, rows); }

  function emptyRow(cols, text) {
    var td = cell(text, "hint");
    td.colSpan = cols;
    return el("tr", {}, [td]);
  }

  function actions() {
    var span = el("span", { className: "row-actions" });
    Array.prototype.forEach.call(arguments, function (b) { if (b) span.append(b, " "); });
    return span;
  }

  // copyField copies a read-only field's value.
  function copyField(id) {
    var input = $(id);
    var done = function () { status("Copied."); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
    } else {
      input.select();
      try { document.execCommand("copy"); done(); } catch (e) { status("Select the text and copy it."); }
    }
  }

  // ---------------------------------------------------------- formatting

  // money formats {"USD": "49.99", "EUR": "10.00"}.
  function money(m) {
    var keys = Object.keys(m || {}).sort();
    if (keys.length === 0) return "–";
    return keys.map(function (c) { return m[c] + " " + c; }).join(", ");
  }

  function percentMap(m) {
    var keys = Object.keys(m || {}).sort();
    return keys.length ? keys.map(function (c) { return m[c] + " % " + c; }).join(", ") : "–";
  }

  function percent(x) { return (Math.round(x * 1000) / 10) + " %"; }

  function when(t) {
    if (!t) return "";
    var d = new Date(t);
    return isNaN(d) ? t : d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function num(s) { var n = parseFloat(s); return isNaN(n) ? 0 : n; }

  var presetNames = { today: "today", yesterday: "yesterday", last_7_days: "the last 7 days", last_30_days: "the last 30 days",
    this_month: "this month", last_month: "last month" };

  // periodText describes an answer's period in its time zone.
  function periodText(out) {
    if (!out.from && !out.to) return "All time.";
    var from = out.from ? out.from.slice(0, 10) : "the start";
    var to = out.to ? dayBefore(out.to.slice(0, 10)) : "now";
    return (out.preset ? presetNames[out.preset] + ": " : "") + from + (from === to ? "" : " to " + to) + " (" + out.tz + ")";
  }

  // days lists the calendar days of [from, to) (answers' RFC 3339 times in
  // their time zone: the date is the first 10 characters).
  function days(from, to) {
    var out = [];
    if (!from || !to) return out;
    var d = from.slice(0, 10), end = to.slice(0, 10);
    for (var i = 0; d < end && i < 400; i++) {
      out.push(d);
      d = dayAfter(d);
    }
    return out;
  }

  function shiftDay(day, n) {
    var t = new Date(day + "T00:00:00Z");
    t.setUTCDate(t.getUTCDate() + n);
    return t.toISOString().slice(0, 10);
  }
  function dayAfter(day) { return shiftDay(day, 1); }
  function dayBefore(day) { return shiftDay(day, -1); }

  // ------------------------------------------------------------- charts

  var SVG = "http://www.w3.org/2000/svg";

  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // niceTicks gives 0 and up to 4 round steps covering max; counts
  // (whole) get whole steps.
  function niceTicks(max, whole) {
    if (!(max > 0)) return [0, 1];
    var raw = max / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
    [1, 2, 2.5, 5, 10].some(function (m) { step = m * mag; return max / step <= 4; });
    if (whole) step = Math.max(1, Math.ceil(step));
    var ticks = [];
    for (var v = 0; v < max + step / 2 && ticks.length < 7; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
    if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
    return ticks;
  }

  function shortNumber(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + "M";
    if (v >= 1e4) return (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + "k";
    return String(v);
  }

  // chart draws one group of bars per day (labels are YYYY-MM-DD), a bar
  // per series ({name, cls, values, text}), with a value axis, the dates
  // below, and what each day holds in its hover title. The figures are
  // also in a table beside it for screen readers and keyboards.
  function chart(box, labels, series, label) {
    // Drawn at the box's own width, so that the text keeps its size.
    var W = Math.max(Math.min(box.clientWidth || 640, 1200), 260), H = 200, L = 46, R = 10, T = 12, B = 40;
    var plotH = H - T - B, plotW = W - L - R;
    var max = 0, whole = true;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; if (v % 1) whole = false; }); });
    var ticks = niceTicks(max, whole), top = ticks[ticks.length - 1] || 1;
    var svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, class: "bars", role: "img", "aria-label": label });
    svg.appendChild(svgEl("title", {}, label));
    ticks.forEach(function (t) {
      var y = T + plotH * (1 - t / top);
      svg.appendChild(svgEl("line", { x1: L, x2: W - R, y1: y, y2: y, class: t === 0 ? "axis" : "grid" }));
      svg.appendChild(svgEl("text", { x: L - 6, y: y + 4, class: "tick", "text-anchor": "end" }, shortNumber(t)));
    });
    svg.appendChild(svgEl("line", { x1: L, x2: L, y1: T, y2: T + plotH, class: "axis" }));
    var n = Math.max(labels.length, 1), gw = plotW / n, bw = gw * 0.8 / Math.max(series.length, 1);
    var every = Math.ceil(n / Math.max(Math.floor(plotW / 60), 1)); // a date every 60 px at most
    labels.forEach(function (day, i) {
      var x0 = L + i * gw;
      var g = svgEl("g", { class: "day" });
      var tip = day + ": " + series.map(function (s) { return s.text(s.values[i]) + " " + s.name; }).join(", ");
      g.appendChild(svgEl("title", {}, tip));
      g.appendChild(svgEl("rect", { x: x0, y: T, width: gw, height: plotH, class: "hover" }));
      series.forEach(function (s, j) {
        var v = s.values[i] || 0, h = plotH * v / top;
        g.appendChild(svgEl("rect", { x: (x0 + gw * 0.1 + j * bw).toFixed(1), y: (T + plotH - h).toFixed(1),
          width: Math.max(bw - 1, 1).toFixed(1), height: h.toFixed(1), class: "bar " + s.cls }));
      });
      svg.appendChild(g);
      if (i % every === 0) {
        svg.appendChild(svgEl("text", { x: (x0 + gw / 2).toFixed(1), y: H - B + 16, class: "tick", "text-anchor": "middle" }, day.slice(5)));
      }
    });
    if (labels.length) {
      svg.appendChild(svgEl("text", { x: L, y: H - 6, class: "tick" }, labels[0].slice(0, 4)));
    }
    var legend = el("p", { className: "legend" }, series.map(function (s) {
      return el("span", {}, [el("i", { className: "swatch " + s.cls, "aria-hidden": "true" }), s.name]);
    }));
    box.replaceChildren(svg, legend);
  }

  // ------------------------------------------------------------- sign-in

  function signIn(ev) {
    ev.preventDefault();
    state.token = $("token").value.trim();
    state.account = $("account").value.trim();
    $("login-error").textContent = "";
    var create = $("create-account").checked
      ? api("PUT", accountPath(), { name: $("account-name").value.trim() || state.account,
          default_currency: $("account-currency").value.trim().toUpperCase() || "USD" })
      : Promise.resolve();
    create.then(function () { return api("GET", accountPath()); }).then(function (a) {
      sessionStorage.setItem("pp_token", state.token);
      sessionStorage.setItem("pp_account", state.account);
      start(a);
    }).catch(function (err) {
      var msg = err.message;
      if (err.status === 401) msg = "That is neither the server's admin token nor a key of account " + state.account + ".";
      if (err.status === 403) msg = "An account key cannot create accounts: ask for the admin token.";
      if (err.status === 404) msg = "There is no account " + state.account + ": tick \"create it\" under New account.";
      $("login-error").textContent = msg;
    });
  }

  function signOut() {
    sessionStorage.removeItem("pp_token");
    sessionStorage.removeItem("pp_account");
    location.reload();
  }

  function start(a) {
    state.acct = a;
    $("login").hidden = true;
    $("tabs").hidden = false;
    $("logout").hidden = false;
    $("who").textContent = "Account " + state.account + (state.token.indexOf("ppk_") === 0 ? " (account key)" : "");
    api("GET", accountPath() + "/templates").then(function (t) { state.templates = t; fillTemplates(); }).catch(fail);
    show("overview");
  }

  // --------------------------------------------------------------- views

  // loaders fill a page; each returns a promise of its end.
  var loaders = {
    overview: loadOverview,
    webinars: loadWebinars,
    attendees: function () { return searchAttendees(false); },
    reports: function () { if (!$("group-1").value) initReport(); return loadReport(); },
    logs: function () { return loadLog(false); },
    s2s: loadS2S,
    leads: loadLeads,
    deliveries: loadDeliveries,
    activity: loadActivity,
    audiences: loadExports,
    settings: function () { return Promise.all([loadAccount(), loadKeys()]); },
  };

  // show opens a page; it is aria-busy while it loads (a screen reader
  // waits, and so do the browser tests).
  function show(view) {
    var page = $("view-" + view);
    document.querySelectorAll(".view").forEach(function (v) { v.hidden = v !== page; });
    document.querySelectorAll("#tabs button").forEach(function (b) {
      if (b.dataset.view === view) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    });
    status("");
    reload(view);
  }

  function reload(view) {
    var page = $("view-" + view);
    page.setAttribute("aria-busy", "true");
    return Promise.resolve(loaders[view]()).catch(fail).then(function () { page.removeAttribute("aria-busy"); });
  }

  // ------------------------------------------------------------ overview

  // mapLimit runs fn over items, at most n at a time.
  function mapLimit(items, n, fn) {
    var out = new Array(items.length), next = 0;
    function worker() {
      if (next >= items.length) return Promise.resolve();
      var i = next++;
      return fn(items[i]).then(function (r) { out[i] = r; return worker(); });
    }
    var workers = [];
    for (var k = 0; k < Math.min(n, items.length); k++) workers.push(worker());
    return Promise.all(workers).then(function () { return out; });
  }

  function addMoney(into, m) {
    Object.keys(m || {}).forEach(function (c) {
      // Exact enough for display totals: amounts have at most 6 decimals.
      into[c] = ((into[c] || 0) * 1e6 + Math.round(num(m[c]) * 1e6)) / 1e6;
    });
  }

  function moneyNumbers(m) {
    var out = {};
    Object.keys(m).forEach(function (c) { out[c] = m[c].toFixed(2); });
    return out;
  }

  function kpi(label, value, sub) {
    return el("div", { className: "kpi" }, [el("span", { className: "kpi-label" }, [label]),
      el("strong", {}, [value]), sub ? el("span", { className: "hint" }, [sub]) : null]);
  }

  function loadOverview() {
    var p = state.overview, cur = state.acct ? state.acct.default_currency : "USD";
    document.querySelectorAll("[data-period]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.period === p ? "true" : "false");
    });
    $("chart-revenue-currency").textContent = cur;
    var hits = acctAPI("GET", "/reports/hits?preset=" + p);
    var byDay = acctAPI("GET", "/reports/campaigns?group_by=day&preset=" + p);
    var byCampaign = acctAPI("GET", "/reports/campaigns?group_by=campaign&preset=" + p);
    var webinars = acctAPI("GET", "/webinars").then(function (out) {
      return mapLimit(out.webinars, 4, function (w) {
        return acctAPI("GET", "/reports/webinars/" + encodeURIComponent(w.id) + "/series?preset=" + p)
          .then(function (s) { return { w: w, s: s }; });
      });
    });
    return Promise.all([hits, byDay, byCampaign, webinars]).then(function (r) {
      var h = r[0], day = r[1], camp = r[2], ws = r[3];
      var labels = days(day.from, day.to);
      $("overview-period").textContent = periodText(day);
      var total = 0, refused = 0;
      h.hits.forEach(function (x) { total += x.count; if (x.status === "rejected") refused += x.count; });
      var sales = 0, revenue = {}, salesByDay = {}, revenueByDay = {};
      var tops = ws.map(function (x) {
        var t = { w: x.w, sales: 0, revenue: {} };
        x.s.days.forEach(function (d) {
          t.sales += d.sales;
          addMoney(t.revenue, d.revenue);
          salesByDay[d.day] = (salesByDay[d.day] || 0) + d.sales;
          revenueByDay[d.day] = (revenueByDay[d.day] || 0) + num((d.revenue || {})[cur]);
        });
        sales += t.sales;
        addMoney(revenue, t.revenue);
        return t;
      });
      var tot = day.totals;
      $("kpis").replaceChildren(
        kpi("Hits", String(total), refused ? refused + " refused" : ""),
        kpi("Sales", String(sales)),
        kpi("Revenue", money(moneyNumbers(revenue))),
        kpi("Clicks", String(tot.clicks)),
        kpi("Conversions", String(tot.approved), tot.pending ? tot.pending + " pending" : ""),
        kpi("Campaign revenue", money(tot.revenue)),
        kpi("Profit", tot.converted ? tot.converted.profit + " " + tot.converted.currency : money(tot.profit),
          tot.cr === null ? "" : "CR " + tot.cr + " %"));
      chart($("chart-sales"), labels, [{ name: "sales", cls: "s1", values: labels.map(function (d) { return salesByDay[d] || 0; }),
        text: String }], "Sales per day, " + periodText(day));
      chart($("chart-revenue"), labels, [{ name: cur, cls: "s2", values: labels.map(function (d) { return revenueByDay[d] || 0; }),
        text: function (v) { return v.toFixed(2); } }], "Revenue per day in " + cur);
      var dayRows = {};
      day.rows.forEach(function (x) { dayRows[x.group.day] = x; });
      chart($("chart-clicks"), labels, [
        { name: "clicks", cls: "s1", values: labels.map(function (d) { return dayRows[d] ? dayRows[d].clicks : 0; }), text: String },
        { name: "conversions", cls: "s3", values: labels.map(function (d) { return dayRows[d] ? dayRows[d].approved : 0; }), text: String },
      ], "Clicks and approved conversions per day");

      tops.sort(function (a, b) { return num(b.revenue[cur]) - num(a.revenue[cur]) || b.sales - a.sales; });
      var sold = tops.filter(function (t) { return t.sales || Object.keys(t.revenue).length; }).slice(0, 5);
      fill($("top-webinars").tBodies[0], sold.length ? sold.map(function (t) {
        return row([cell(t.w.name ? t.w.name + " (" + t.w.id + ")" : t.w.id), cell(t.sales, "num"), cell(money(moneyNumbers(t.revenue)), "num")]);
      }) : [emptyRow(3, "No sale in this period.")]);
      var crs = camp.rows.slice().sort(function (a, b) {
        var av = a.converted ? num(a.converted.revenue) : num(a.revenue[cur]);
        var bv = b.converted ? num(b.converted.revenue) : num(b.revenue[cur]);
        return bv - av || b.clicks - a.clicks;
      }).slice(0, 5);
      fill($("top-campaigns").tBodies[0], crs.length ? crs.map(function (x) {
        return row([cell(x.group.campaign || "(none)"), cell(x.clicks, "num"), cell(x.approved, "num"),
          cell(money(x.revenue), "num"), cell(x.converted ? x.converted.profit + " " + x.converted.currency : money(x.profit), "num")]);
      }) : [emptyRow(5, "No click in this period.")]);
    }).catch(fail);
  }

  // ------------------------------------------------------------ webinars

  function loadWebinars() {
    return acctAPI("GET", "/webinars").then(function (out) {
      state.webinars = out.webinars;
      return Promise.all(out.webinars.map(function (w) {
        return acctAPI("GET", "/webinars/" + encodeURIComponent(w.id) + "/stats").then(function (st) {
          return { w: w, st: st };
        });
      }));
    }).then(function (rows) {
      var tbody = $("webinars").tBodies[0];
      if (rows.length === 0) {
        fill(tbody, [emptyRow(9, "No webinar yet: add one below, or fire a pixel that names one.")]);
        return;
      }
      fill(tbody, rows.map(function (r) {
        var open = button(r.w.id, function () { selectWebinar(r.w); }, "link", "Open webinar " + r.w.id);
        var del = confirmButton("Delete", "Delete webinar " + r.w.id, function () {
          acctAPI("DELETE", "/webinars/" + encodeURIComponent(r.w.id)).then(function () {
            if (state.webinar === r.w.id) $("webinar-detail").hidden = true;
            status("Deleted webinar " + r.w.id + " (its figures stay in the reports).");
            loadWebinars();
          }).catch(fail);
        });
        return row([cell(open), cell(r.w.name), cell(r.w.tags.join(", ")), cell(r.st.registrants, "num"),
          cell(r.st.converted, "num"), cell(r.st.registrants ? percent(r.st.conversion_rate) : "–", "num"), cell(r.st.sales, "num"),
          cell(money(r.st.revenue), "num"), cell(actions(del))],
          { className: r.w.id === state.webinar ? "selected" : "", "data-webinar": r.w.id });
      }));
    }).catch(fail);
  }

  function saveWebinar(ev) {
    ev.preventDefault();
    var id = $("webinar-id").value.trim();
    var tags = $("webinar-tags").value.split(/[\s,]+/).filter(Boolean);
    acctAPI("PUT", "/webinars/" + encodeURIComponent(id), { name: $("webinar-name").value.trim(), tags: tags })
      .then(function (w) {
        status("Saved webinar " + w.id + ".");
        selectWebinar(w);
      }).catch(fail);
  }

  function selectWebinar(w) {
    state.webinar = w.id;
    $("webinar-id").value = w.id;
    $("webinar-name").value = w.name || "";
    $("webinar-tags").value = (w.tags || []).join(", ");
    $("detail-id").textContent = w.id;
    $("webinar-detail").hidden = false;
    $("import-result").textContent = "";
    renderSnippets();
    loadSeries();
    loadWebinars();
  }

  // loadSeries shows the webinar's days in the period (the account's time
  // zone): registrants and sales per day, and the figures in a table.
  function loadSeries() {
    $("series-note").textContent = "";
    acctAPI("GET", "/reports/webinars/" + encodeURIComponent(state.webinar) + "/series?preset=" + $("series-period").value)
      .then(function (out) {
        fill($("series").tBodies[0], out.days.length ? out.days.map(function (d) {
          return row([cell(d.day), cell(d.registrants, "num"), cell(d.sales, "num"), cell(d.conversions, "num"), cell(money(d.revenue), "num")]);
        }) : [emptyRow(5, "Nothing in this period.")]);
        var byDay = {};
        out.days.forEach(function (d) { byDay[d.day] = d; });
        var labels = days(out.from, out.to);
        $("series-note").textContent = periodText(out);
        chart($("series-chart"), labels, [
          { name: "registrants", cls: "s2", values: labels.map(function (d) { return byDay[d] ? byDay[d].registrants : 0; }), text: String },
          { name: "sales", cls: "s1", values: labels.map(function (d) { return byDay[d] ? byDay[d].sales : 0; }), text: String },
        ], "Registrants and sales per day of webinar " + state.webinar);
      }).catch(function (err) {
        fill($("series").tBodies[0], []);
        $("series-chart").replaceChildren();
        $("series-note").textContent = err.message;
      });
  }

  // Tracking code. A preset fills the fields with a checkout's placeholder
  // syntax; "query" makes them the names of the thank-you page's URL
  // parameters, read by pixel.js.
  var checkoutPresets = {
    custom: ["{email}", "{order_id}", "{amount}", "{currency}"],
    thinkific: ["{{email}}", "{{order_number}}", "{{total_price}}", "{{currency}}"],
    shopify: ["{{ checkout.email }}", "{{ checkout.order_number }}", "{{ checkout.total_price | divided_by: 100.0 }}", "{{ checkout.currency }}"],
    query: ["email", "order_id", "total", "currency"],
  };
  var snippetFields = ["ph-email", "ph-order", "ph-amount", "ph-currency"];

  function applyCheckout() {
    var p = checkoutPresets[$("checkout").value];
    snippetFields.forEach(function (id, i) { $(id).value = p[i]; });
    renderSnippets();
  }

  function renderSnippets() {
    var origin = location.origin;
    var a = encodeURIComponent(state.account), w = encodeURIComponent(state.webinar);
    var v = snippetFields.map(function (id) { return $(id).value.trim(); });
    var hidden = ' width="1" height="1" alt="" style="position:absolute;left:-9999px">';
    if ($("checkout").value === "query") {
      $("img-tag").value = "(pixel.js below reads these parameters from the page's URL)";
      $("script-tag").value = '<script async src="' + origin + '/v1/conversion/pixel.js" data-account="' + state.account +
        '" data-webinar-id="' + state.webinar + '" data-map="email:' + v[0] + ",orderId:" + v[1] + ",amount:" + v[2] +
        ",currency:" + v[3] + '"></script>';
    } else {
      $("img-tag").value = '<img src="' + origin + "/v1/conversion/pixel/" + a + "?webinarId=" + w + "&email=" + v[0] +
        "&orderId=" + v[1] + "&amount=" + v[2] + "&currency=" + v[3] + '"' + hidden;
      $("script-tag").value = "(choose \"Page URL parameters\" when the page builder cannot insert placeholders)";
    }
    $("reg-tag").value = '<img src="' + origin + "/v1/attendee/pixel/" + a + "?webinarId=" + w + "&email=" +
      ($("checkout").value === "query" ? "{email}" : v[0]) + '"' + hidden;
  }

  function importRegistrants(ev) {
    ev.preventDefault();
    var file = $("import-file").files[0];
    if (!file) return;
    var type = /\.json$/i.test(file.name) || file.type === "application/json" ? "application/json" : "text/csv";
    file.text().then(function (body) {
      return acctAPI("POST", "/webinars/" + encodeURIComponent(state.webinar) + "/registrants", body, { type: type });
    }).then(function (out) {
      var refused = out.rows.filter(function (r) { return r.status === "rejected"; }).slice(0, 5)
        .map(function (r) { return "row " + (r.index + 1) + ": " + (r.detail || r.reason); });
      $("import-result").textContent = out.accepted + " imported, " + (out.updated ? out.updated + " updated, " : "") +
        out.duplicate + " already registered, " +
        out.rejected + " refused" + (out.queued ? ", " + out.queued + " queued" : "") +
        (refused.length ? " (" + refused.join("; ") + ")" : "") + ".";
      loadWebinars();
    }).catch(function (err) { $("import-result").textContent = err.message; });
  }

  // ----------------------------------------------------------- attendees

  var attendeeCursor = "";

  function searchAttendees(more) {
    if (!more) attendeeCursor = "";
    var q = query({ prefix: $("attendee-prefix").value.trim(), sort: $("attendee-sort").value,
      currency: $("attendee-currency").value.trim(), cursor: attendeeCursor, limit: 50 });
    return acctAPI("GET", "/attendees" + q).then(function (out) {
      var tbody = $("attendee-list").tBodies[0];
      var rows = out.attendees.map(function (a) {
        return row([cell(button(a.email, function () { openAttendee(a.email); }, "link", "Open " + a.email)),
          cell(a.orders, "num"), cell(money(a.ltv), "num"), cell(a.webinars.join(", ")), cell(when(a.last_order))],
          { "data-email": a.email });
      });
      if (more) rows.forEach(function (r) { tbody.appendChild(r); });
      else fill(tbody, rows.length ? rows : [emptyRow(5, "No attendee matches.")]);
      attendeeCursor = out.next_cursor;
      $("attendee-more").hidden = !attendeeCursor;
    }).catch(fail);
  }

  var shownEmail = "";

  function openAttendee(email) {
    resetErase();
    $("attendee-result").textContent = "";
    $("convert-result").textContent = "";
    acctAPI("GET", "/attendees/" + encodeURIComponent(email)).then(function (a) {
      shownEmail = a.email;
      $("attendee").hidden = false;
      $("att-email").textContent = a.email;
      $("att-id").textContent = a.attendee_id;
      $("att-orders").textContent = a.orders;
      $("att-ltv").textContent = money(a.ltv);
      $("att-webinars").textContent = a.webinars.join(", ") || "–";
      fill($("att-order-list").tBodies[0], a.order_list.length ? a.order_list.map(function (o) {
        return row([cell(o.order_id || "(no order id)"), cell(o.amount + " " + o.currency, "num"), cell(o.webinars.join(", ")),
          cell(o.product_name || o.product_id || ""), cell(o.source), cell(when(o.first_seen)), cell(when(o.last_seen))]);
      }) : [emptyRow(7, "No order.")]);
      return acctAPI("GET", "/webinars");
    }).then(function (out) {
      if (!out) return;
      var sel = $("convert-webinar"), keep = sel.value;
      sel.replaceChildren.apply(sel, out.webinars.map(function (w) {
        return el("option", { value: w.id, textContent: w.name ? w.name + " (" + w.id + ")" : w.id });
      }));
      if (keep) sel.value = keep;
      $("convert-currency").placeholder = state.acct ? state.acct.default_currency : "";
      $("attendee").scrollIntoView({ block: "nearest" });
    }).catch(function (err) {
      $("attendee").hidden = true;
      $("attendee-result").textContent = err.status === 404 ? "No attendee with that email." : err.message;
    });
  }

  function markConverted(ev) {
    ev.preventDefault();
    var body = { webinar_id: $("convert-webinar").value, amount: $("convert-amount").value.trim(),
      currency: $("convert-currency").value.trim().toUpperCase(), order_id: $("convert-order").value.trim() };
    acctAPI("POST", "/attendees/" + encodeURIComponent(shownEmail) + "/conversions", body).then(function (r) {
      $("convert-result").textContent = r.status === "queued" ? "Queued: the ledger applies it when it is back." :
        "Marked as converted (" + r.status + (r.delta !== "0" && r.delta ? ", " + r.delta + " " + r.currency : "") + ").";
      openAttendeeKeepResult(shownEmail);
    }).catch(function (err) { $("convert-result").textContent = err.message; });
  }

  function openAttendeeKeepResult(email) {
    var msg = $("convert-result").textContent;
    openAttendee(email);
    setTimeout(function () { $("convert-result").textContent = msg; }, 0);
  }

  function resetErase() {
    var b = $("erase");
    b.dataset.armed = "";
    b.textContent = "Erase this person (GDPR)";
  }

  function erase() {
    var b = $("erase");
    if (!b.dataset.armed) {
      b.dataset.armed = "1";
      b.textContent = "Click again to erase " + shownEmail + " for good";
      return;
    }
    resetErase();
    acctAPI("DELETE", "/attendees/" + encodeURIComponent(shownEmail)).then(function (out) {
      $("attendee").hidden = true;
      $("attendee-result").textContent = "Erased " + shownEmail + ": " + out.orders + " orders, " + out.registrations +
        " registrations, " + out.cookies + " cookie links; raw hits: " + out.raw_hits.replace("_", " ") + ".";
      reload("attendees");
    }).catch(function (err) { $("attendee-result").textContent = err.message; });
  }

  // ----------------------------------------------------- campaign report

  var dims = [["campaign", "campaign"], ["source", "traffic source"], ["network", "network"], ["zone", "zone"],
    ["country", "country"], ["day", "day"]];
  var report = { filters: {} };

  function initReport() {
    ["group-1", "group-2", "group-3"].forEach(function (id, i) {
      var sel = $(id);
      var opts = i ? [el("option", { value: "", textContent: "—" })] : [];
      dims.forEach(function (d) { opts.push(el("option", { value: d[0], textContent: d[1] })); });
      sel.replaceChildren.apply(sel, opts);
    });
    $("group-1").value = "campaign";
  }

  function groupBy() {
    var g = [];
    ["group-1", "group-2", "group-3"].forEach(function (id) {
      var v = $(id).value;
      if (v && g.indexOf(v) < 0) g.push(v);
    });
    return g;
  }

  function setGroupBy(g) {
    ["group-1", "group-2", "group-3"].forEach(function (id, i) { $(id).value = g[i] || ""; });
  }

  // reportParams is the report's query: the period, the drill-down
  // filters (an empty one, zone=, keeps the rows without a zone) and extra.
  function reportParams(extra) {
    var parts = [];
    var add = function (k, v, keepEmpty) {
      if (v || keepEmpty) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    };
    if ($("report-period").value === "custom") {
      add("from", $("report-from").value);
      add("to", $("report-to").value);
    } else {
      add("preset", $("report-period").value);
    }
    Object.keys(report.filters).forEach(function (k) { add(k, report.filters[k], true); });
    Object.keys(extra || {}).forEach(function (k) { add(k, extra[k]); });
    return parts.join("&");
  }

  // nextDims is what a drill-down from a row groups by: the chosen levels
  // not yet filtered on, else the first dimension not used.
  function nextDims(filters) {
    var left = groupBy().filter(function (d) { return !(d in filters); });
    if (left.length) return left;
    var order = ["zone", "country", "day", "source", "network", "campaign"];
    for (var i = 0; i < order.length; i++) if (!(order[i] in filters)) return [order[i]];
    return ["day"];
  }

  function drill(r) {
    Object.keys(r.group).forEach(function (k) { report.filters[k] = r.group[k]; });
    setGroupBy(nextDims(report.filters));
    reload("reports");
  }

  function renderFilters() {
    var box = $("report-filters");
    var keys = Object.keys(report.filters);
    var chips = keys.map(function (k) {
      var v = report.filters[k];
      return el("span", { className: "chip" }, [k + ": " + (v === "" ? "(none)" : v), " ",
        button("×", function () { delete report.filters[k]; reload("reports"); }, "chip-x", "Remove filter " + k)]);
    });
    if (keys.length) chips.unshift(button("All", function () { report.filters = {}; initReport(); reload("reports"); }, "link", "Remove every filter"));
    box.replaceChildren.apply(box, chips);
  }

  function loadReport() {
    var g = groupBy();
    if (!g.length) { g = ["campaign"]; setGroupBy(g); }
    renderFilters();
    $("report-note").textContent = "";
    var q = reportParams({ group_by: g.join(",") });
    var daily = g.length === 1 && g[0] === "day" ? null : acctAPI("GET", "/reports/campaigns?" + reportParams({ group_by: "day" }));
    return acctAPI("GET", "/reports/campaigns?" + q).then(function (out) {
      $("report-period-shown").textContent = periodText(out);
      // Converted figures when the account has exchange rates.
      var conv = !!(state.acct && Object.keys(state.acct.rates || {}).length);
      var head = g.map(function (d) { return el("th", { textContent: d }); });
      ["Clicks", "Approved", "Pending", "Declined", "CR", "Revenue", "Cost", "Profit", "EPC", "CPC", "ROI"].forEach(function (h) {
        head.push(el("th", { className: "num", textContent: h }));
      });
      if (conv) ["Revenue", "Profit", "ROI"].forEach(function (h) {
        head.push(el("th", { className: "num", textContent: h + " in " + state.acct.default_currency }));
      });
      var tr = $("report").tHead.rows[0];
      tr.replaceChildren.apply(tr, head);
      // A row's last group value is its drill-down button.
      var line = function (r, total) {
        var cells = g.map(function (d, i) {
          if (total) return cell(i === 0 ? "Total" : "");
          var v = r.group[d] === "" ? "(none)" : r.group[d];
          if (i < g.length - 1) return cell(v);
          return cell(button(v, function () { drill(r); }, "link",
            "Drill down into " + g.map(function (x) { return x + " " + (r.group[x] || "(none)"); }).join(", ")));
        });
        [r.clicks, r.approved, r.pending, r.declined].forEach(function (v) { cells.push(cell(v, "num")); });
        cells.push(cell(r.cr === null ? "–" : r.cr + " %", "num"));
        [r.revenue, r.cost, r.profit, r.epc, r.cpc].forEach(function (m) { cells.push(cell(money(m), "num")); });
        cells.push(cell(percentMap(r.roi), "num"));
        if (conv) {
          var c = r.converted;
          cells.push(cell(c ? c.revenue : "–", "num"), cell(c ? c.profit : "–", "num"), cell(c && c.roi !== null ? c.roi + " %" : "–", "num"));
        }
        return row(cells, { className: total ? "total" : "" });
      };
      var rows = out.rows.map(function (r) { return line(r, false); });
      fill($("report").tBodies[0], rows.length ? rows.concat([line(out.totals, true)]) : [emptyRow(head.length, "No clicks in that period.")]);
      if (out.missing_rates.length) {
        $("report-note").textContent = "No exchange rate for " + out.missing_rates.join(", ") + ": set it under Settings to convert those rows.";
      }
      return daily;
    }).then(function (day) {
      if (!day) { $("report-chart").replaceChildren(); return; }
      var labels = days(day.from, day.to), byDay = {};
      day.rows.forEach(function (r) { byDay[r.group.day] = r; });
      var what = Object.keys(report.filters).map(function (k) { return k + " " + report.filters[k]; }).join(", ");
      chart($("report-chart"), labels, [
        { name: "clicks", cls: "s1", values: labels.map(function (d) { return byDay[d] ? byDay[d].clicks : 0; }), text: String },
        { name: "conversions", cls: "s3", values: labels.map(function (d) { return byDay[d] ? byDay[d].approved : 0; }), text: String },
      ], "Clicks and approved conversions per day" + (what ? " for " + what : ""));
    }).catch(function (err) {
      fill($("report").tBodies[0], []);
      $("report-note").textContent = err.message;
    });
  }

  function reportCSV() {
    download("/reports/campaigns?" + reportParams({ group_by: groupBy().join(","), format: "csv" }), "campaigns.csv");
  }

  // ---------------------------------------------------------------- logs

  var logCols = {
    conversions: ["Time", "Campaign", "Zone", "Country", "Network", "Transaction", "Goal", "Status", "Payout", "Revenue", "Details"],
    clicks: ["Time", "Campaign", "Source", "Zone", "Country", "Cost", "Status", "Click id", "Macros"],
    leads: ["Time", "Endpoint", "Status", "Reason", "Email", "Fields"],
    purchases: ["Time", "Order", "Product", "Amount", "Change", "Webinars", "Source", "Status", "Email"],
  };
  var logStatuses = {
    conversions: ["", "pending", "approved", "declined", "chargeback"],
    other: ["", "accepted", "updated", "duplicate", "rejected"],
  };
  var logCursor = "";

  // logKindOptions shows the filters and statuses of the log chosen.
  function logKindOptions() {
    var kind = $("log-kind").value;
    document.querySelectorAll("#log-form [data-logs]").forEach(function (l) {
      l.hidden = l.dataset.logs.split(" ").indexOf(kind) < 0;
    });
    var sel = $("log-status");
    sel.replaceChildren.apply(sel, (logStatuses[kind] || logStatuses.other).map(function (s) {
      return el("option", { value: s, textContent: s || "any" });
    }));
  }

  function logQuery(extra) {
    var p = { preset: $("log-period").value };
    document.querySelectorAll("#log-form [data-param]").forEach(function (f) {
      if (!f.closest("label").hidden) p[f.dataset.param] = f.value.trim();
    });
    Object.keys(extra || {}).forEach(function (k) { p[k] = extra[k]; });
    return query(p);
  }

  function pairs(m) {
    return Object.keys(m || {}).sort().map(function (k) { return k + "=" + m[k]; }).join(" ");
  }

  function payoutText(p) { return p ? p.amount + " " + p.currency : ""; }

  function conversionDetails(c) {
    var d = el("details", {}, [el("summary", { textContent: "history" })]);
    d.appendChild(el("ul", {}, c.history.map(function (h) {
      return el("li", {}, [when(h.time) + ": " + h.conv_status + (h.raw_status && h.raw_status !== h.conv_status ? " (" + h.raw_status + ")" : "") +
        ", " + payoutText(h.payout) + ", change " + h.delta + " — " + h.status]);
    })));
    d.appendChild(el("p", {}, ["Click " + c.click_id + (c.click_time ? " at " + when(c.click_time) : "") + "; macros: " + (pairs(c.macros) || "none")]));
    if (c.deliveries && c.deliveries.length) {
      d.appendChild(el("ul", {}, c.deliveries.map(function (x) {
        return el("li", {}, ["postback " + x.status + " (" + x.attempts + " attempts" + (x.last_error ? ", " + x.last_error : "") + "): " + x.url]);
      })));
    } else {
      d.appendChild(el("p", {}, ["No postback to the traffic source."]));
    }
    return d;
  }

  function logRow(kind, e) {
    switch (kind) {
    case "conversions":
      return row([cell(when(e.time)), cell(e.campaign), cell(e.zone), cell(e.country), cell(e.network), cell(e.txid), cell(e.goal),
        cell(e.status), cell(payoutText(e.payout), "num"), cell(money(e.revenue), "num"), cell(conversionDetails(e))], { "data-click": e.click_id });
    case "clicks":
      return row([cell(when(e.time)), cell(e.campaign), cell(e.source), cell(e.zone), cell(e.country), cell(payoutText(e.cost), "num"),
        cell(e.status + (e.reason ? " (" + e.reason + ")" : "")), cell(e.click_id, "query"), cell(pairs(e.macros), "query")]);
    case "leads":
      return row([cell(when(e.time)), cell(e.endpoint), cell(e.status), cell(e.reason), cell(e.email || (e.email_sha256 ? "(erased)" : "")),
        cell(e.query, "query")]);
    default:
      return row([cell(when(e.time)), cell(e.order_id), cell(e.product_name || e.product_id), cell(e.amount, "num"), cell(e.delta, "num"),
        cell((e.webinars || []).join(", ")), cell(e.source), cell(e.status + (e.reason ? " (" + e.reason + ")" : "")), cell(e.email)]);
    }
  }

  function loadLog(more) {
    var kind = $("log-kind").value;
    if (!more) logCursor = "";
    if (!$("log-status").options.length) logKindOptions();
    var tr = $("log").tHead.rows[0];
    tr.replaceChildren.apply(tr, logCols[kind].map(function (h) { return el("th", { textContent: h }); }));
    return acctAPI("GET", "/logs/" + kind + logQuery({ cursor: logCursor, limit: 50 })).then(function (out) {
      var tbody = $("log").tBodies[0];
      var rows = out[kind].map(function (e) { return logRow(kind, e); });
      if (more) rows.forEach(function (r) { tbody.appendChild(r); });
      else fill(tbody, rows.length ? rows : [emptyRow(logCols[kind].length, "Nothing logged.")]);
      logCursor = out.next_cursor;
      $("log-more").hidden = !logCursor;
    }).catch(fail);
  }

  // ------------------------------------------------------ configuration

  // configs is the account's documents of each kind, by id (loaded with
  // their list).
  var configs = {};

  function loadKind(kind) {
    return acctAPI("GET", "/" + kind).then(function (all) { configs[kind] = all; return all; });
  }

  // switchable are the kinds with an "enabled" switch.
  var switchable = { sources: true, networks: true, campaigns: true, "crm-sources": true, "lead-endpoints": true, webhooks: true };

  // configTable lists a kind with Edit, Enable/Disable (switchable kinds)
  // and Delete, and the columns cols(id, doc) gives.
  function configTable(kind, tableID, what, cols, edit, extra) {
    var all = configs[kind] || {}, ids = Object.keys(all).sort();
    var n = $(tableID).tHead.rows[0].cells.length;
    fill($(tableID).tBodies[0], ids.length ? ids.map(function (id) {
      var doc = all[id];
      var btns = [button("Edit", function () { edit(id, doc); }, "", "Edit " + what + " " + id)];
      if (extra) btns = btns.concat(extra(id, doc));
      if (switchable[kind]) {
        var on = doc.enabled !== false; // saved before the switch existed: on
        btns.push(button(on ? "Disable" : "Enable", function () {
          var d = JSON.parse(JSON.stringify(doc));
          d.enabled = !on;
          acctAPI("PUT", "/" + kind + "/" + encodeURIComponent(id), d).then(function () {
            status((d.enabled ? "Enabled " : "Disabled ") + what + " " + id + ".");
            reload(currentView());
          }).catch(fail);
        }, "", (on ? "Disable " : "Enable ") + what + " " + id));
      }
      btns.push(confirmButton("Delete", "Delete " + what + " " + id, function () {
        acctAPI("DELETE", "/" + kind + "/" + encodeURIComponent(id)).then(function () {
          status("Deleted " + what + " " + id + ".");
          reload(currentView());
        }).catch(fail);
      }));
      return row(cols(id, doc).concat([cell(actions.apply(null, btns))]), { "data-id": id });
    }) : [emptyRow(n, "None yet: fill in the form below.")]);
  }

  function currentView() {
    var b = document.querySelector("#tabs button[aria-current]");
    return b ? b.dataset.view : "overview";
  }

  function stateText(doc) { return doc.enabled === false ? "disabled" : "enabled"; }

  // keptSwitch is the "enabled" switch a form without one saves: the
  // stored document's, so that saving an edit does not switch it on.
  function keptSwitch(stored) { return !stored || stored.enabled !== false; }

  function setOptions(sel, items, keep) {
    var v = keep === undefined ? sel.value : keep;
    sel.replaceChildren.apply(sel, items.map(function (it) { return el("option", { value: it[0], textContent: it[1] }); }));
    if (v !== undefined && items.some(function (it) { return it[0] === v; })) sel.value = v;
  }

  function fillTemplates() {
    var t = state.templates;
    if (!t) return;
    setOptions($("source-template"), t.sources.map(function (s) { return [s.name, s.label]; }).concat([["", "Custom (no template)"]]), "exoclick");
    setOptions($("network-preset"), t.networks.map(function (p) { return [p.name, p.name]; }), "generic");
    setOptions($("crm-preset"), t.crm_presets.map(function (p) { return [p.name, p.name]; }), "generic");
    sourceTemplateChanged();
    networkPresetChanged();
    crmPresetChanged();
  }

  function sourceTemplate(name) {
    return (state.templates ? state.templates.sources : []).filter(function (s) { return s.name === name; })[0];
  }

  // A template fills the form: ExoClick's macros and its postback with the
  // goal id typed in.
  function sourceTemplateChanged() {
    var t = sourceTemplate($("source-template").value);
    document.querySelectorAll("#source-form [data-template]").forEach(function (l) {
      l.hidden = !t || l.dataset.template !== t.name;
    });
    if (!t) return;
    $("source-link-query").value = t.link_query;
    renderSourcePostback();
  }

  function renderSourcePostback() {
    var t = sourceTemplate($("source-template").value);
    if (!t || !t.postback_url) {
      $("source-postback").placeholder = "https://source.example/conversion?click={external_id}&payout={payout}";
      return;
    }
    var goal = $("source-goal").value.trim();
    $("source-postback").value = t.goal_placeholder ? t.postback_url.replace(t.goal_placeholder, goal || t.goal_placeholder) : t.postback_url;
  }

  // Traffic sources.

  function editSource(id, d) {
    $("source-id").value = id;
    $("source-template").value = d.template || "";
    document.querySelectorAll("#source-form [data-template]").forEach(function (l) { l.hidden = l.dataset.template !== d.template; });
    var t = sourceTemplate(d.template);
    var goal = "";
    if (t && t.goal_placeholder) {
      var m = /[?&]goal=([^&]*)/.exec(d.postback_url);
      goal = m ? decodeURIComponent(m[1]) : "";
    }
    $("source-goal").value = goal;
    $("source-postback").value = d.postback_url;
    $("source-correction").value = d.correction_url || "";
    $("source-link-query").value = d.link_query || "";
    ["approved", "pending", "declined", "chargeback"].forEach(function (s) {
      $("source-st-" + s).checked = (d.statuses || []).indexOf(s) >= 0;
    });
    $("source-enabled").checked = d.enabled !== false;
    $("source-id").focus();
  }

  function saveSource(ev) {
    ev.preventDefault();
    var id = $("source-id").value.trim();
    var statuses = ["approved", "pending", "declined", "chargeback"].filter(function (s) { return $("source-st-" + s).checked; });
    var doc = { postback_url: $("source-postback").value.trim(), statuses: statuses, enabled: $("source-enabled").checked,
      template: $("source-template").value, link_query: $("source-link-query").value.trim() };
    if ($("source-correction").value.trim()) doc.correction_url = $("source-correction").value.trim();
    acctAPI("PUT", "/sources/" + encodeURIComponent(id), doc).then(function () {
      $("source-result").textContent = "Saved traffic source " + id + ".";
      loadS2S();
    }).catch(function (err) { $("source-result").textContent = err.message; });
  }

  // Networks.

  function networkPreset(name) {
    return (state.templates ? state.templates.networks : []).filter(function (p) { return p.name === name; })[0];
  }

  function networkPresetChanged() {
    var p = networkPreset($("network-preset").value);
    if (!p) return;
    document.querySelectorAll("#network-form [data-param]").forEach(function (f) { f.placeholder = p.params[f.dataset.param] || ""; });
  }

  function editNetwork(id, d) {
    $("network-id").value = id;
    $("network-preset").value = d.preset;
    networkPresetChanged();
    $("network-secret").value = d.secret || "";
    $("network-allow").value = (d.allow_ips || []).join(", ");
    document.querySelectorAll("#network-form [data-param]").forEach(function (f) { f.value = (d.params || {})[f.dataset.param] || ""; });
    showNetworkLink(d.postback_url);
    $("network-id").focus();
  }

  function showNetworkLink(url) {
    $("network-link").hidden = !url;
    $("network-postback-url").value = url || "";
  }

  function saveNetwork(ev) {
    ev.preventDefault();
    var id = $("network-id").value.trim();
    var params = {};
    document.querySelectorAll("#network-form [data-param]").forEach(function (f) { if (f.value.trim()) params[f.dataset.param] = f.value.trim(); });
    var doc = { preset: $("network-preset").value, params: params, secret: $("network-secret").value.trim(),
      allow_ips: $("network-allow").value.split(/[\s,]+/).filter(Boolean), enabled: keptSwitch((configs.networks || {})[id]) };
    acctAPI("PUT", "/networks/" + encodeURIComponent(id), doc).then(function (saved) {
      $("network-result").textContent = "Saved network " + id + ".";
      showNetworkLink(saved.postback_url);
      loadS2S();
    }).catch(function (err) { $("network-result").textContent = err.message; });
  }

  function generateSecret() {
    var b = new Uint8Array(18);
    crypto.getRandomValues(b);
    $("network-secret").value = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  // Campaigns.

  function goalRow(id, g) {
    g = g || { type: "dynamic" };
    var n = $("goals").children.length + 1;
    var idIn = el("input", { value: id || "", className: "goal-id", required: true, pattern: "[A-Za-z0-9_.:\\-]{1,64}" });
    var type = el("select", { className: "goal-type" }, [["dynamic", "the postback's payout"], ["fixed", "a fixed value"], ["none", "no value"]]
      .map(function (o) { return el("option", { value: o[0], textContent: o[1] }); }));
    type.value = g.type;
    var value = el("input", { value: g.value || "", className: "goal-value", inputmode: "decimal" });
    var wrap = el("div", { className: "goal" }, [
      el("label", {}, ["Goal " + n + " id", idIn]), el("label", {}, ["Value", type]), el("label", {}, ["Fixed value", value]),
      button("Remove", function () { wrap.remove(); }, "", "Remove goal " + n)]);
    $("goals").appendChild(wrap);
    return wrap;
  }

  function campaignOptions() {
    var src = Object.keys(configs.sources || {}).sort().map(function (id) { return [id, id]; });
    var net = Object.keys(configs.networks || {}).sort().map(function (id) { return [id, id]; });
    setOptions($("campaign-source"), [["", "none"]].concat(src));
    setOptions($("campaign-network"), [["", "none (postbacks to the account URL)"]].concat(net));
  }

  function editCampaign(id, d) {
    $("campaign-id").value = id;
    $("campaign-source").value = d.source_id || "";
    $("campaign-network").value = d.network_id || "";
    $("campaign-offer").value = d.offer_url;
    $("campaign-window").value = d.attribution_window_days || 30;
    $("campaign-cpc").value = d.cpc || "";
    $("campaign-payout").value = d.payout || "";
    $("campaign-pixel").checked = !!d.pixel_conversions;
    $("campaign-enabled").checked = d.enabled !== false;
    $("goals").replaceChildren();
    Object.keys(d.goals || {}).sort().forEach(function (g) { goalRow(g, d.goals[g]); });
    showCampaignLinks(id, d);
    $("campaign-id").focus();
  }

  function saveCampaign(ev) {
    ev.preventDefault();
    var id = $("campaign-id").value.trim();
    var goals = {};
    $("goals").querySelectorAll(".goal").forEach(function (g) {
      var gid = g.querySelector(".goal-id").value.trim();
      if (!gid) return;
      goals[gid] = { type: g.querySelector(".goal-type").value };
      if (goals[gid].type === "fixed") goals[gid].value = g.querySelector(".goal-value").value.trim();
    });
    var doc = { source_id: $("campaign-source").value, network_id: $("campaign-network").value, offer_url: $("campaign-offer").value.trim(),
      attribution_window_days: parseInt($("campaign-window").value, 10) || 30, goals: goals,
      pixel_conversions: $("campaign-pixel").checked, enabled: $("campaign-enabled").checked };
    if ($("campaign-cpc").value.trim()) doc.cpc = $("campaign-cpc").value.trim();
    if ($("campaign-payout").value.trim()) doc.payout = $("campaign-payout").value.trim();
    acctAPI("PUT", "/campaigns/" + encodeURIComponent(id), doc).then(function (saved) {
      $("campaign-result").textContent = "Saved campaign " + id + ".";
      return loadS2S().then(function () { showCampaignLinks(id, saved); });
    }).catch(function (err) { $("campaign-result").textContent = err.message; });
  }

  // showCampaignLinks shows both links of a campaign: its link for the
  // traffic source and its network's postback URL.
  function showCampaignLinks(id, d) {
    $("campaign-links").hidden = false;
    $("links-campaign").textContent = id;
    $("campaign-links").dataset.campaign = id;
    $("campaign-link").value = d.link || "";
    var net = d.network_id ? (configs.networks || {})[d.network_id] : null;
    $("campaign-postback").value = net ? net.postback_url :
      location.origin + "/v1/postback/" + encodeURIComponent(state.account) + "?cid={sub1}&payout={payout}&txid={transaction_id}&status={status}";
    $("test-result").replaceChildren();
  }

  function testPostback(ev) {
    ev.preventDefault();
    var id = $("campaign-links").dataset.campaign;
    $("test-result").replaceChildren(el("p", { textContent: "Sending…" }));
    acctAPI("POST", "/campaigns/" + encodeURIComponent(id) + "/test-postback",
      { payout: $("test-payout").value.trim(), status: $("test-status").value }).then(function (r) {
      var items = [el("li", {}, ["Click: " + r.click.status + (r.click.status === 302 ? " (redirected to the offer)" : " " + r.click.answer) +
        " — " + r.click.url])];
      if (r.postback) items.push(el("li", {}, ["Postback: " + r.postback.status + " " + r.postback.answer + " — " + r.postback.url]));
      var verdict = r.ok ? "The network's postback works: it answered " + r.postback.answer + "." :
        (r.postback ? "The postback was refused: " + r.postback.answer + "." : "The campaign link did not record a click.");
      if (r.postback && r.postback.answer === "error=ip_not_allowed") {
        verdict += " The test comes from this server, which the network's allowed addresses leave out.";
      }
      $("test-result").replaceChildren(el("p", { className: r.ok ? "ok" : "error", textContent: verdict }), el("ul", {}, items));
    }).catch(function (err) { $("test-result").replaceChildren(el("p", { className: "error", textContent: err.message })); });
  }

  function loadS2S() {
    return Promise.all([loadKind("sources"), loadKind("networks"), loadKind("campaigns")]).then(function () {
      configTable("sources", "sources", "source", function (id, d) {
        var t = sourceTemplate(d.template);
        return [cell(id), cell(t ? t.label : "custom"), cell(d.postback_url, "query"), cell(stateText(d))];
      }, editSource);
      configTable("networks", "networks", "network", function (id, d) {
        return [cell(id), cell(d.preset), cell(d.postback_url, "query"), cell(stateText(d))];
      }, editNetwork);
      configTable("campaigns", "campaigns", "campaign", function (id, d) {
        return [cell(id), cell(d.source_id || "–"), cell(d.network_id || "–"), cell(d.offer_url, "query"), cell(stateText(d))];
      }, editCampaign, function (id) {
        return [button("Links", function () { showCampaignLinks(id, configs.campaigns[id]); $("campaign-links").scrollIntoView(); }, "",
          "Links of campaign " + id),
        button("Report", function () { openCampaignReport(id); }, "", "Report of campaign " + id)];
      });
      campaignOptions();
    }).catch(fail);
  }

  function openCampaignReport(id) {
    if (!$("group-1").value) initReport();
    report.filters = { campaign: id };
    setGroupBy(["zone"]);
    show("reports");
  }

  // -------------------------------------------------- leads, CRM, Meta

  var datasets = {};
  var eventsCursor = "";

  function loadLeads() {
    return Promise.all([acctAPI("GET", "/meta-datasets"), loadKind("crm-sources"), loadKind("lead-endpoints"), loadKind("webhooks")])
      .then(function (r) {
        datasets = r[0];
        var ids = Object.keys(datasets).sort();
        fill($("datasets").tBodies[0], ids.length ? ids.map(function (id) {
          var d = datasets[id];
          var on = d.enabled !== false;
          return row([cell(id), cell(d.api_version), cell(d.test_event_code || "–"), cell(on ? "enabled" : "disabled (events queued)"), cell(actions(
            button("Diagnostics", function () { openDataset(id); }, "", "Diagnostics of dataset " + id),
            button("Edit", function () { editDataset(id, d); }, "", "Edit dataset " + id),
            button(on ? "Disable" : "Enable", function () {
              var doc = JSON.parse(JSON.stringify(d));
              doc.enabled = !on;
              acctAPI("PUT", "/meta-datasets/" + encodeURIComponent(id), doc).then(function () {
                status((on ? "Disabled" : "Enabled") + " dataset " + id + ".");
                loadLeads();
              }).catch(fail);
            }, "", (on ? "Disable" : "Enable") + " dataset " + id),
            confirmButton("Delete", "Delete dataset " + id, function () {
              acctAPI("DELETE", "/meta-datasets/" + encodeURIComponent(id)).then(function () {
                status("Deleted dataset " + id + ".");
                $("dataset-detail").hidden = true;
                loadLeads();
              }).catch(fail);
            })))], { "data-id": id });
        }) : [emptyRow(5, "None yet: fill in the form below.")]);
        setOptions($("crm-dataset"), [["", "none"]].concat(ids.map(function (id) { return [id, id]; })));
        configTable("crm-sources", "crm-sources", "CRM source", function (id, d) {
          return [cell(id), cell(d.preset), cell(d.dataset_id || "–"), cell(location.origin + "/v1/crm/" + encodeURIComponent(id) + "/events", "query"),
            cell(stateText(d))];
        }, editCRM);
        configTable("lead-endpoints", "lead-endpoints", "endpoint", function (id, d) {
          return [cell(id), cell(location.origin + "/v1/leads/" + encodeURIComponent(id), "query"), cell(d.salt ? "MD5 token" : "none"),
            cell(stateText(d))];
        }, editEndpoint);
        configTable("webhooks", "webhooks", "webhook", function (id, d) {
          return [cell(id), cell(d.url, "query"), cell((d.events || []).join(", ")), cell(stateText(d))];
        }, editWebhook);
      }).catch(fail);
  }

  function check(ok, text) {
    return el("li", { className: ok ? "ok" : "bad" }, [el("span", { className: "mark", "aria-hidden": "true", textContent: ok ? "✓" : "✗" }),
      el("span", { className: "sr", textContent: ok ? "Done: " : "To do: " }), text]);
  }

  function openDataset(id) {
    $("dataset-detail").hidden = false;
    $("dataset-shown").textContent = id;
    $("dataset-detail").dataset.id = id;
    acctAPI("GET", "/meta-datasets/" + encodeURIComponent(id) + "/diagnostics").then(function (d) {
      var items = [
        check(d.raw_stage_sent, d.raw_stage ? "The raw-lead stage (" + d.raw_stage + ") is sent" : "No lead stage received yet"),
        check(d.enough_stages, d.stage_count + " stages sent (at least 2)"),
        check(d.recommended_stages, "3 stages or more (recommended)"),
        check(d.enough_days, d.days_with_data + " days with data (7 needed)"),
        check(d.leads_received > 0 && d.events_failed === 0, d.events_uploaded + " events uploaded for " + d.leads_uploaded + " of " + d.leads_received +
          " leads received; " + d.events_pending + " pending, " + d.events_failed + " failed, " + d.events_rejected + " rejected"),
      ];
      d.stages.filter(function (s) { return !s.raw; }).forEach(function (s) {
        items.push(check(!s.rate_out_of_band, s.name + ": " + percent(s.conversion_rate) + " of raw leads (1–40 % expected)"));
      });
      (d.warnings || []).forEach(function (w) { items.push(check(false, w)); });
      if (d.paused_until) items.push(check(false, "Sending paused until " + when(d.paused_until) + (d.last_error ? ": " + d.last_error : "")));
      $("diag-checklist").replaceChildren.apply($("diag-checklist"), items);
      fill($("diag-stages").tBodies[0], d.stages.length ? d.stages.map(function (s) {
        return row([cell(s.name + (s.raw ? " (raw leads)" : "")), cell(s.leads, "num"), cell(s.sent, "num"), cell(s.pending, "num"),
          cell(s.failed, "num"), cell(percent(s.conversion_rate) + (s.rate_out_of_band ? " ⚠" : ""), "num")]);
      }) : [emptyRow(6, "No event yet.")]);
      loadEvents();
    }).catch(fail);
  }

  function loadEvents(ev, more) {
    if (ev) ev.preventDefault();
    if (!more) eventsCursor = "";
    var id = $("dataset-detail").dataset.id;
    acctAPI("GET", "/meta-datasets/" + encodeURIComponent(id) + "/events" + query({ status: $("events-status").value, cursor: eventsCursor, limit: 50 }))
      .then(function (out) {
        var tbody = $("dataset-events").tBodies[0];
        var rows = out.events.map(function (e) {
          return row([cell(e.lead_id), cell(e.event_name), cell(when(e.event_time)), cell(e.status), cell(e.error), cell(e.attempts, "num")]);
        });
        if (more) rows.forEach(function (r) { tbody.appendChild(r); });
        else fill(tbody, rows.length ? rows : [emptyRow(6, "No event.")]);
        eventsCursor = out.next_cursor;
        $("events-more").hidden = !eventsCursor;
      }).catch(fail);
  }

  function editDataset(id, d) {
    $("dataset-id").value = id;
    $("dataset-token").value = d.access_token;
    $("dataset-version").value = d.api_version;
    $("dataset-source").value = d.lead_event_source || "";
    $("dataset-test").value = d.test_event_code || "";
    $("dataset-agent").value = d.partner_agent || "";
    $("dataset-graph").value = d.graph_base || "";
    $("dataset-id").focus();
  }

  function saveDataset(ev) {
    ev.preventDefault();
    var id = $("dataset-id").value.trim();
    var doc = { access_token: $("dataset-token").value.trim(), api_version: $("dataset-version").value.trim(),
      lead_event_source: $("dataset-source").value.trim(), test_event_code: $("dataset-test").value.trim(),
      partner_agent: $("dataset-agent").value.trim(), graph_base: $("dataset-graph").value.trim(), enabled: keptSwitch(datasets[id]) };
    acctAPI("PUT", "/meta-datasets/" + encodeURIComponent(id), doc).then(function () {
      $("dataset-result").textContent = "Saved dataset " + id + ".";
      loadLeads();
    }).catch(function (err) { $("dataset-result").textContent = err.message; });
  }

  function crmPresetChanged() {
    var p = (state.templates ? state.templates.crm_presets : []).filter(function (x) { return x.name === $("crm-preset").value; })[0];
    if (!p) return;
    document.querySelectorAll("#crm-form [data-param]").forEach(function (f) { f.placeholder = p.mapping[f.dataset.param] || ""; });
  }

  function editCRM(id, d) {
    $("crm-id").value = id;
    $("crm-preset").value = d.preset;
    crmPresetChanged();
    $("crm-dataset").value = d.dataset_id || "";
    $("crm-lead-source").value = d.lead_event_source || "";
    $("crm-secret").value = d.secret || "";
    document.querySelectorAll("#crm-form [data-param]").forEach(function (f) { f.value = (d.mapping || {})[f.dataset.param] || ""; });
    $("crm-id").focus();
  }

  function saveCRM(ev) {
    ev.preventDefault();
    var id = $("crm-id").value.trim(), mapping = {};
    document.querySelectorAll("#crm-form [data-param]").forEach(function (f) { if (f.value.trim()) mapping[f.dataset.param] = f.value.trim(); });
    var doc = { preset: $("crm-preset").value, mapping: mapping, lead_event_source: $("crm-lead-source").value.trim(),
      dataset_id: $("crm-dataset").value, enabled: keptSwitch((configs["crm-sources"] || {})[id]) };
    if ($("crm-secret").value.trim()) doc.secret = $("crm-secret").value.trim();
    acctAPI("PUT", "/crm-sources/" + encodeURIComponent(id), doc).then(function () {
      $("crm-result").textContent = "Saved CRM source " + id + ": it posts to " + location.origin + "/v1/crm/" + encodeURIComponent(id) + "/events.";
      loadLeads();
    }).catch(function (err) { $("crm-result").textContent = err.message; });
  }

  function editEndpoint(id, d) {
    $("endpoint-id").value = id;
    $("endpoint-salt").value = d.salt || "";
    document.querySelectorAll("#endpoint-form [data-param]").forEach(function (f) { f.value = (d.fields || {})[f.dataset.param] || ""; });
    $("endpoint-hidden").checked = !!d.token_includes_hidden;
    $("endpoint-id").focus();
  }

  function saveEndpoint(ev) {
    ev.preventDefault();
    var id = $("endpoint-id").value.trim(), fields = {};
    document.querySelectorAll("#endpoint-form [data-param]").forEach(function (f) { if (f.value.trim()) fields[f.dataset.param] = f.value.trim(); });
    var doc = { fields: fields, token_includes_hidden: $("endpoint-hidden").checked, enabled: keptSwitch((configs["lead-endpoints"] || {})[id]) };
    if ($("endpoint-salt").value) doc.salt = $("endpoint-salt").value;
    acctAPI("PUT", "/lead-endpoints/" + encodeURIComponent(id), doc).then(function () {
      $("endpoint-result").textContent = "Saved endpoint " + id + ": the card submits to " + location.origin + "/v1/leads/" + encodeURIComponent(id) + ".";
      loadLeads();
    }).catch(function (err) { $("endpoint-result").textContent = err.message; });
  }

  function editWebhook(id, d) {
    $("webhook-id").value = id;
    $("webhook-url").value = d.url;
    $("webhook-secret").value = d.secret;
    $("webhook-ev-lead").checked = (d.events || []).indexOf("lead") >= 0;
    $("webhook-ev-conversion").checked = (d.events || []).indexOf("conversion") >= 0;
    $("webhook-enabled").checked = d.enabled !== false;
    $("webhook-id").focus();
  }

  function saveWebhook(ev) {
    ev.preventDefault();
    var id = $("webhook-id").value.trim();
    var events = ["lead", "conversion"].filter(function (e) { return $("webhook-ev-" + e).checked; });
    var doc = { url: $("webhook-url").value.trim(), secret: $("webhook-secret").value, events: events, enabled: $("webhook-enabled").checked };
    acctAPI("PUT", "/webhooks/" + encodeURIComponent(id), doc).then(function () {
      $("webhook-result").textContent = "Saved webhook " + id + ".";
      loadLeads();
    }).catch(function (err) { $("webhook-result").textContent = err.message; });
  }

  // -------------------------------------- deliveries, refused hits, audiences

  function loadActivity() {
    var recent = acctAPI("GET", "/hits/rejected").then(function (out) {
      fill($("rejections").tBodies[0], out.rejections.length ? out.rejections.map(function (r) {
        return row([cell(when(r.time)), cell(r.kind), cell(r.reason), cell(r.query, "query")]);
      }) : [emptyRow(4, "No refused hit since this node started.")]);
    }).catch(fail);
    var counts = acctAPI("GET", "/reports/hits?preset=last_30_days").then(function (out) {
      fill($("hit-statuses").tBodies[0], out.hits.length ? out.hits.map(function (h) {
        return row([cell(h.kind), cell(h.status), cell(h.reason), cell(h.count, "num")]);
      }) : [emptyRow(4, "No hit.")]);
    }).catch(fail);
    return Promise.all([recent, counts]);
  }

  function loadDeliveries() {
    var q = $("delivery-status").value ? "?status=" + $("delivery-status").value : "";
    return acctAPI("GET", "/deliveries" + q).then(function (out) {
      var rows = out.deliveries.map(function (d) {
        var last = d.attempts && d.attempts.length ? d.attempts[d.attempts.length - 1] : null;
        var retry = d.status === "failed" ? button("Retry", function () {
          acctAPI("POST", "/deliveries/" + encodeURIComponent(d.id) + "/retry").then(loadDeliveries).catch(fail);
        }, "", "Retry delivery to " + d.url) : null;
        return row([cell(when(d.created_at)), cell(d.kind), cell(d.status), cell(d.url, "query"), cell(d.attempt_count, "num"),
          cell(last ? last.error || last.status_code : ""), cell(retry ? actions(retry) : "")]);
      });
      fill($("deliveries").tBodies[0], rows.length ? rows : [emptyRow(7, "None.")]);
    }).catch(fail);
  }

  function describe(counts) {
    var keys = Object.keys(counts || {}).sort();
    return keys.length ? keys.map(function (k) { return counts[k] + " " + k.replace(/_/g, " "); }).join(", ") : "–";
  }

  function createExport(ev) {
    ev.preventDefault();
    var f = {};
    ["group", "webinar", "tag"].forEach(function (k) {
      var v = $("export-" + k).value.trim();
      if (v) f[k] = v;
    });
    if ($("export-converted").value) f.converted = $("export-converted").value === "true";
    if ($("export-min-ltv").value.trim()) f.min_ltv = $("export-min-ltv").value.trim();
    if ($("export-from").value) f.from = $("export-from").value;
    if ($("export-to").value) f.to = $("export-to").value;
    var domains = $("export-domains").value.split(/[\s,]+/).filter(Boolean);
    if (domains.length) f.exclude_domains = domains;
    $("export-result").textContent = "Exporting…";
    acctAPI("POST", "/audiences/exports", { platform: $("export-platform").value, hashed: $("export-hashed").checked, filters: f })
      .then(function (d) {
        $("export-result").textContent = d.rows + " of " + d.selected + " people written; left out: " + describe(d.excluded) + ".";
        loadExports();
      }).catch(function (err) { $("export-result").textContent = err.message; });
  }

  function loadExports() {
    return acctAPI("GET", "/audiences/exports").then(function (out) {
      var rows = out.exports.map(function (d) {
        var get = button("Download", function () {
          download("/audiences/exports/" + encodeURIComponent(d.id) + ".csv", "audience-" + d.platform + "-" + d.created_at.slice(0, 10) + ".csv");
        }, "", "Download export of " + when(d.created_at));
        var del = button("Delete", function () {
          acctAPI("DELETE", "/audiences/exports/" + encodeURIComponent(d.id)).then(loadExports).catch(fail);
        }, "danger", "Delete export of " + when(d.created_at));
        var filters = Object.keys(d.filters).map(function (k) { return k + ": " + d.filters[k]; }).join("; ");
        return row([cell(when(d.created_at)), cell(d.platform + (d.hashed ? " (hashed)" : "")), cell(filters || "none"),
          cell(d.rows, "num"), cell(describe(d.excluded)), cell(actions(get, del))], { "data-export": d.id });
      });
      fill($("exports").tBodies[0], rows.length ? rows : [emptyRow(6, "No export yet.")]);
    }).catch(fail);
  }

  // ------------------------------------------------------------ settings

  function loadAccount() {
    return api("GET", accountPath()).then(function (a) {
      state.acct = a;
      $("acct-name").value = a.name;
      $("acct-currency").value = a.default_currency;
      $("acct-timezone").value = a.timezone;
      $("acct-max").value = a.max_amount;
      $("acct-rates").value = Object.keys(a.rates).sort().map(function (c) { return c + "=" + a.rates[c]; }).join(", ");
      var zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [];
      if (!$("zones").options.length) {
        $("zones").replaceChildren.apply($("zones"), zones.map(function (z) { return el("option", { value: z }); }));
      }
    }).catch(fail);
  }

  function saveAccount(ev) {
    ev.preventDefault();
    var rates = {}, bad = "";
    $("acct-rates").value.split(/[\s,;]+/).filter(Boolean).forEach(function (p) {
      var kv = p.split("=");
      if (kv.length !== 2 || !kv[0] || !kv[1]) bad = p;
      else rates[kv[0].trim().toUpperCase()] = kv[1].trim();
    });
    if (bad) { $("account-result").textContent = "\"" + bad + "\" is not CURRENCY=rate (EUR=1.08)."; return; }
    var doc = { name: $("acct-name").value.trim(), default_currency: $("acct-currency").value.trim().toUpperCase(),
      timezone: $("acct-timezone").value.trim(), max_amount: $("acct-max").value.trim(), rates: rates };
    api("PUT", accountPath(), doc).then(function (a) {
      state.acct = a;
      $("account-result").textContent = "Saved.";
    }).catch(function (err) {
      $("account-result").textContent = err.code === "admin_only" ? "Only the admin token changes the account." : err.message;
    });
  }

  // API keys of the account (the admin token's business).
  function loadKeys() {
    return acctAPI("GET", "/api-keys").then(function (out) {
      fill($("api-keys").tBodies[0], out.api_keys.length ? out.api_keys.map(function (k) {
        var del = confirmButton("Delete", "Delete key " + k.name, function () {
          acctAPI("DELETE", "/api-keys/" + encodeURIComponent(k.id)).then(loadKeys).catch(fail);
        });
        return row([cell(k.name), cell(k.key, "query"), cell(k.role === "read" ? "read only" : "read and write"), cell(when(k.created_at)), cell(del)]);
      }) : [emptyRow(5, "No key yet.")]);
    }).catch(function (err) {
      fill($("api-keys").tBodies[0], [emptyRow(5, err.code === "admin_only" ? "Signed in with an account key: only the admin token manages keys." : err.message)]);
    });
  }

  function makeKey(ev) {
    ev.preventDefault();
    acctAPI("POST", "/api-keys", { name: $("key-name").value.trim(), role: $("key-role").value }).then(function (k) {
      $("key-result").textContent = "New key (shown once, copy it now): " + k.key;
      loadKeys();
    }).catch(function (err) { $("key-result").textContent = err.message; });
  }

  // -------------------------------------------------------------- wiring

  function on(id, event, fn) { $(id).addEventListener(event, fn); }

  on("login-form", "submit", signIn);
  on("logout", "click", signOut);
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.dataset.view); });
  });
  document.querySelectorAll("[data-period]").forEach(function (b) {
    b.addEventListener("click", function () { state.overview = b.dataset.period; reload("overview"); });
  });
  on("webinar-form", "submit", saveWebinar);
  on("series-period", "change", loadSeries);
  on("series-csv", "click", function () {
    download("/reports/webinars/" + encodeURIComponent(state.webinar) + "/series?format=csv&preset=" + $("series-period").value,
      "webinar-" + state.webinar + ".csv");
  });
  on("checkout", "change", applyCheckout);
  snippetFields.forEach(function (id) { on(id, "input", renderSnippets); });
  on("import-form", "submit", importRegistrants);
  on("download-registrants", "click", function () {
    download("/registrants.csv?webinarId=" + encodeURIComponent(state.webinar), "registrants-" + state.webinar + ".csv");
  });
  // A page's form reloads it (busy meanwhile).
  function reloads(view) { return function (ev) { ev.preventDefault(); reload(view); }; }

  on("attendee-search", "submit", reloads("attendees"));
  on("attendee-more", "click", function () { searchAttendees(true); });
  on("convert-form", "submit", markConverted);
  on("erase", "click", erase);
  on("report-form", "submit", reloads("reports"));
  on("report-period", "change", function () {
    document.querySelectorAll(".custom-dates").forEach(function (l) { l.hidden = $("report-period").value !== "custom"; });
  });
  on("report-csv", "click", reportCSV);
  on("log-form", "submit", reloads("logs"));
  on("log-kind", "change", function () { logKindOptions(); reload("logs"); });
  on("log-more", "click", function () { loadLog(true); });
  on("log-csv", "click", function () {
    download("/logs/" + $("log-kind").value + logQuery({ format: "csv", limit: 1000 }), $("log-kind").value + ".csv");
  });
  on("source-form", "submit", saveSource);
  on("source-form", "reset", function () { setTimeout(sourceTemplateChanged, 0); });
  on("source-template", "change", sourceTemplateChanged);
  on("source-goal", "input", renderSourcePostback);
  on("network-form", "submit", saveNetwork);
  on("network-form", "reset", function () { showNetworkLink(""); });
  on("network-preset", "change", networkPresetChanged);
  on("network-generate", "click", generateSecret);
  on("campaign-form", "submit", saveCampaign);
  on("campaign-form", "reset", function () { $("goals").replaceChildren(); $("campaign-links").hidden = true; });
  on("campaign-network", "change", function () { $("campaign-pixel").checked = !$("campaign-network").value; });
  on("goal-add", "click", function () { goalRow("", null).querySelector("input").focus(); });
  on("test-form", "submit", testPostback);
  document.querySelectorAll("button.copy").forEach(function (b) {
    b.addEventListener("click", function () { copyField(b.dataset.copy); });
  });
  on("dataset-form", "submit", saveDataset);
  on("events-form", "submit", loadEvents);
  on("events-more", "click", function () { loadEvents(null, true); });
  on("crm-form", "submit", saveCRM);
  on("crm-preset", "change", crmPresetChanged);
  on("endpoint-form", "submit", saveEndpoint);
  on("webhook-form", "submit", saveWebhook);
  on("refresh-activity", "click", loadActivity);
  on("delivery-status", "change", loadDeliveries);
  on("export-form", "submit", createExport);
  on("account-form", "submit", saveAccount);
  on("key-form", "submit", makeKey);

  if (state.token && state.account) {
    $("token").value = state.token;
    $("account").value = state.account;
    api("GET", accountPath()).then(start).catch(function () { sessionStorage.clear(); });
  }
})();
