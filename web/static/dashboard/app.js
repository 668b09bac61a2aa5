/* pixelpost dashboard: a page over the admin API (README "Admin and
 * report API"). It keeps the admin token in this tab's sessionStorage and
 * sends it as a bearer token; every value shown is set as text, never as
 * HTML, and the server's Content-Security-Policy allows no other script.
 */
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var state = {
    token: sessionStorage.getItem("pp_token") || "",
    account: sessionStorage.getItem("pp_account") || "",
    webinar: "",
  };

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

  function status(msg, isError) {
    var s = $("status");
    s.textContent = msg || "";
    s.className = isError ? "error" : "";
  }

  function fail(err) { status(err.message, true); }

  // cell makes a table cell; a number (or opts.num) is right-aligned.
  function cell(value, cls) {
    var td = document.createElement("td");
    if (value instanceof Node) td.appendChild(value);
    else td.textContent = value === undefined || value === null ? "" : String(value);
    if (cls) td.className = cls;
    return td;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren.apply(tbody, rows);
  }

  function emptyRow(cols, text) {
    var tr = document.createElement("tr");
    var td = cell(text);
    td.colSpan = cols;
    td.className = "hint";
    tr.appendChild(td);
    return tr;
  }

  // money formats {"USD": "49.99", "EUR": "10.00"}.
  function money(m) {
    var keys = Object.keys(m || {}).sort();
    if (keys.length === 0) return "–";
    return keys.map(function (c) { return m[c] + " " + c; }).join(", ");
  }

  function percent(x) { return (Math.round(x * 1000) / 10) + " %"; }

  function when(t) {
    if (!t) return "";
    var d = new Date(t);
    return isNaN(d) ? t : d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  // Sign-in.

  function signIn(ev) {
    ev.preventDefault();
    state.token = $("token").value.trim();
    state.account = $("account").value.trim();
    $("login-error").textContent = "";
    var create = $("create-account").checked
      ? api("PUT", accountPath(), { name: $("account-name").value.trim() || state.account,
          default_currency: $("account-currency").value.trim().toUpperCase() || "USD" })
      : Promise.resolve();
    create.then(function () { return api("GET", accountPath()); }).then(function () {
      sessionStorage.setItem("pp_token", state.token);
      sessionStorage.setItem("pp_account", state.account);
      start();
    }).catch(function (err) {
      var msg = err.message;
      if (err.status === 401) msg = "That admin token is not the server's.";
      if (err.status === 404) msg = "There is no account " + state.account + ": tick \"create it\" under New account.";
      $("login-error").textContent = msg;
    });
  }

  function signOut() {
    sessionStorage.removeItem("pp_token");
    sessionStorage.removeItem("pp_account");
    location.reload();
  }

  function start() {
    $("login").hidden = true;
    $("tabs").hidden = false;
    $("logout").hidden = false;
    $("who").textContent = "Account " + state.account;
    show("webinars");
  }

  // Views.

  var loaders = {
    webinars: loadWebinars,
    attendees: function () {},
    activity: loadActivity,
    deliveries: loadDeliveries,
    reports: function () {},
    audiences: loadExports,
    settings: function () { loadConfigs(); loadKeys(); },
  };

  function show(view) {
    document.querySelectorAll(".view").forEach(function (v) { v.hidden = v.id !== "view-" + view; });
    document.querySelectorAll("#tabs button").forEach(function (b) {
      if (b.dataset.view === view) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    });
    status("");
    loaders[view]();
  }

  // Webinars: the list with each one's totals, the form, the detail.

  function loadWebinars() {
    return api("GET", accountPath() + "/webinars").then(function (out) {
      return Promise.all(out.webinars.map(function (w) {
        return api("GET", accountPath() + "/webinars/" + encodeURIComponent(w.id) + "/stats").then(function (st) {
          return { w: w, st: st };
        });
      }));
    }).then(function (rows) {
      var tbody = $("webinars").tBodies[0];
      if (rows.length === 0) {
        fill(tbody, [emptyRow(8, "No webinar yet: add one below, or fire a pixel that names one.")]);
        return;
      }
      fill(tbody, rows.map(function (r) {
        var tr = document.createElement("tr");
        tr.className = "clickable" + (r.w.id === state.webinar ? " selected" : "");
        tr.dataset.webinar = r.w.id;
        [cell(r.w.id), cell(r.w.name), cell(r.w.tags.join(", ")), cell(r.st.registrants, "num"),
          cell(r.st.converted, "num"), cell(r.st.registrants ? percent(r.st.conversion_rate) : "–", "num"), cell(r.st.sales, "num"),
          cell(money(r.st.revenue), "num")].forEach(function (td) { tr.appendChild(td); });
        tr.addEventListener("click", function () { selectWebinar(r.w); });
        return tr;
      }));
    }).catch(fail);
  }

  function saveWebinar(ev) {
    ev.preventDefault();
    var id = $("webinar-id").value.trim();
    var tags = $("webinar-tags").value.split(/[\s,]+/).filter(Boolean);
    api("PUT", accountPath() + "/webinars/" + encodeURIComponent(id), { name: $("webinar-name").value.trim(), tags: tags })
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

  // loadSeries shows the webinar's last 30 days (by the server's clock):
  // a bar per day of sales, and the figures in a table.
  function loadSeries() {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    $("series-note").textContent = "";
    api("GET", accountPath() + "/reports/webinars/" + encodeURIComponent(state.webinar) +
      "/series?preset=last_30_days&tz=" + encodeURIComponent(tz)).then(function (out) {
      fill($("series").tBodies[0], out.days.length ? out.days.map(function (d) {
        var tr = document.createElement("tr");
        [cell(d.day), cell(d.registrants, "num"), cell(d.sales, "num"), cell(d.conversions, "num"), cell(money(d.revenue), "num")]
          .forEach(function (td) { tr.appendChild(td); });
        return tr;
      }) : [emptyRow(5, "Nothing in the last 30 days.")]);
      drawBars($("series-chart"), out.days);
    }).catch(function (err) {
      fill($("series").tBodies[0], []);
      $("series-chart").replaceChildren();
      $("series-note").textContent = err.message;
    });
  }

  // drawBars draws one bar per day: its height the day's sales, a thin one
  // below for its registrants; hovering a bar tells the figures.
  function drawBars(box, days) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    var w = 600, h = 120, n = Math.max(days.length, 1), bw = w / n;
    var top = Math.max.apply(null, days.map(function (d) { return Math.max(d.sales, d.registrants); }).concat([1]));
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("class", "bars");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "sales and registrants per day");
    days.forEach(function (d, i) {
      [["registrants", d.registrants, 0.15, 0.3], ["sales", d.sales, 0.45, 0.4]].forEach(function (b) {
        var r = document.createElementNS(ns, "rect");
        var bh = Math.round((b[1] / top) * (h - 4));
        r.setAttribute("x", (i * bw + bw * b[2]).toFixed(1));
        r.setAttribute("width", (bw * b[3]).toFixed(1));
        r.setAttribute("y", h - bh);
        r.setAttribute("height", bh);
        r.setAttribute("class", b[0]);
        var t = document.createElementNS(ns, "title");
        t.textContent = d.day + ": " + d.sales + " sales, " + d.registrants + " registrants, " + money(d.revenue);
        r.appendChild(t);
        svg.appendChild(r);
      });
    });
    box.replaceChildren(svg);
  }

  // Tracking code. A preset fills the fields with a checkout's placeholder
  // syntax; "query" makes them the names of the thank-you page's URL
  // parameters, read by pixel.js.
  var presets = {
    custom: ["{email}", "{order_id}", "{amount}", "{currency}"],
    thinkific: ["{{email}}", "{{order_number}}", "{{total_price}}", "{{currency}}"],
    shopify: ["{{ checkout.email }}", "{{ checkout.order_number }}", "{{ checkout.total_price | divided_by: 100.0 }}", "{{ checkout.currency }}"],
    query: ["email", "order_id", "total", "currency"],
  };
  var fields = ["ph-email", "ph-order", "ph-amount", "ph-currency"];

  function applyPreset() {
    var p = presets[$("checkout").value];
    fields.forEach(function (id, i) { $(id).value = p[i]; });
    renderSnippets();
  }

  function renderSnippets() {
    var origin = location.origin;
    var a = encodeURIComponent(state.account), w = encodeURIComponent(state.webinar);
    var v = fields.map(function (id) { return $(id).value.trim(); });
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
      return api("POST", accountPath() + "/webinars/" + encodeURIComponent(state.webinar) + "/registrants", body, { type: type });
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

  function downloadRegistrants() {
    download(accountPath() + "/registrants.csv?webinarId=" + encodeURIComponent(state.webinar), "registrants-" + state.webinar + ".csv");
  }

  // Attendees: look-up, orders, erasure (a second click confirms).

  var shownEmail = "";

  function lookUp(ev) {
    ev.preventDefault();
    var email = $("attendee-email").value.trim();
    resetErase();
    $("attendee-result").textContent = "";
    api("GET", accountPath() + "/attendees/" + encodeURIComponent(email)).then(function (a) {
      shownEmail = a.email;
      $("attendee").hidden = false;
      $("att-id").textContent = a.attendee_id;
      $("att-orders").textContent = a.orders;
      $("att-ltv").textContent = money(a.ltv);
      $("att-webinars").textContent = a.webinars.join(", ") || "–";
      fill($("att-order-list").tBodies[0], a.order_list.map(function (o) {
        var tr = document.createElement("tr");
        [cell(o.order_id || "(no order id)"), cell(o.amount + " " + o.currency, "num"), cell(o.webinars.join(", ")),
          cell(o.product_name || o.product_id || ""), cell(o.source), cell(when(o.first_seen)), cell(when(o.last_seen))]
          .forEach(function (td) { tr.appendChild(td); });
        return tr;
      }));
    }).catch(function (err) {
      $("attendee").hidden = true;
      $("attendee-result").textContent = err.status === 404 ? "No attendee with that email." : err.message;
    });
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
    api("DELETE", accountPath() + "/attendees/" + encodeURIComponent(shownEmail)).then(function (out) {
      $("attendee").hidden = true;
      $("attendee-result").textContent = "Erased " + shownEmail + ": " + out.orders + " orders, " + out.registrations +
        " registrations, " + out.cookies + " cookie links; raw hits: " + out.raw_hits.replace("_", " ") + ".";
    }).catch(function (err) { $("attendee-result").textContent = err.message; });
  }

  // Refused hits, deliveries, campaign reports.

  function loadActivity() {
    api("GET", accountPath() + "/hits/rejected").then(function (out) {
      var rows = out.rejections.map(function (r) {
        var tr = document.createElement("tr");
        [cell(when(r.time)), cell(r.kind), cell(r.reason), cell(r.query, "query")].forEach(function (td) { tr.appendChild(td); });
        return tr;
      });
      fill($("rejections").tBodies[0], rows.length ? rows : [emptyRow(4, "No refused hit since this node started.")]);
    }).catch(fail);
  }

  function loadDeliveries() {
    var st = $("delivery-status").value;
    api("GET", accountPath() + "/deliveries" + (st ? "?status=" + st : "")).then(function (out) {
      var rows = out.deliveries.map(function (d) {
        var tr = document.createElement("tr");
        var attempts = d.attempts || [];
        var last = attempts.length ? attempts[attempts.length - 1] : {};
        var retry = "";
        if (d.status === "failed") {
          retry = document.createElement("button");
          retry.type = "button";
          retry.textContent = "Retry";
          retry.addEventListener("click", function () {
            api("POST", accountPath() + "/deliveries/" + encodeURIComponent(d.id) + "/retry")
              .then(function () { status("Delivery " + d.id + " sent again."); loadDeliveries(); }).catch(fail);
          });
        }
        [cell(when(d.created_at)), cell(d.kind), cell(d.status), cell(d.url, "query"), cell(attempts.length, "num"),
          cell(last.error || (last.status ? "HTTP " + last.status : "")), cell(retry)].forEach(function (td) { tr.appendChild(td); });
        return tr;
      });
      fill($("deliveries").tBodies[0], rows.length ? rows : [emptyRow(7, "None.")]);
    }).catch(fail);
  }

  function loadReport(ev) {
    ev.preventDefault();
    var q = "?group_by=" + $("group-by").value;
    if ($("report-from").value) q += "&from=" + $("report-from").value;
    if ($("report-to").value) q += "&to=" + $("report-to").value;
    $("report-note").textContent = "";
    api("GET", accountPath() + "/reports/campaigns" + q).then(function (out) {
      var line = function (label, r) {
        var tr = document.createElement("tr");
        var roi = Object.keys(r.roi || {}).map(function (c) { return r.roi[c] + " % " + c; }).join(", ");
        [cell(label), cell(r.clicks, "num"), cell(r.approved + " of " + r.conversions, "num"), cell(r.cr === null ? "–" : r.cr + " %", "num"),
          cell(money(r.revenue), "num"), cell(money(r.cost), "num"), cell(money(r.profit), "num"), cell(money(r.epc), "num"), cell(roi || "–", "num")]
          .forEach(function (td) { tr.appendChild(td); });
        return tr;
      };
      var rows = out.rows.map(function (r) {
        return line(Object.keys(r.group).map(function (k) { return r.group[k]; }).join(" / "), r);
      });
      fill($("report").tBodies[0], rows.length ? rows.concat([line("Total", out.totals)]) : [emptyRow(9, "No clicks in that period.")]);
    }).catch(function (err) {
      fill($("report").tBodies[0], []);
      $("report-note").textContent = err.message;
    });
  }

  // Audience files.

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
    api("POST", accountPath() + "/audiences/exports", { platform: $("export-platform").value, hashed: $("export-hashed").checked, filters: f })
      .then(function (d) {
        $("export-result").textContent = d.rows + " of " + d.selected + " people written; left out: " + describe(d.excluded) + ".";
        loadExports();
      }).catch(function (err) { $("export-result").textContent = err.message; });
  }

  function loadExports() {
    api("GET", accountPath() + "/audiences/exports").then(function (out) {
      var rows = out.exports.map(function (d) {
        var tr = document.createElement("tr");
        tr.dataset.export = d.id;
        var actions = document.createElement("span");
        var get = document.createElement("button");
        get.type = "button";
        get.textContent = "Download";
        get.addEventListener("click", function () {
          download(accountPath() + "/audiences/exports/" + encodeURIComponent(d.id) + ".csv",
            "audience-" + d.platform + "-" + d.created_at.slice(0, 10) + ".csv");
        });
        var del = document.createElement("button");
        del.type = "button";
        del.textContent = "Delete";
        del.addEventListener("click", function () {
          api("DELETE", accountPath() + "/audiences/exports/" + encodeURIComponent(d.id)).then(loadExports).catch(fail);
        });
        actions.append(get, " ", del);
        var filters = Object.keys(d.filters).map(function (k) { return k + ": " + d.filters[k]; }).join("; ");
        [cell(when(d.created_at)), cell(d.platform + (d.hashed ? " (hashed)" : "")), cell(filters || "none"),
          cell(d.rows, "num"), cell(describe(d.excluded)), cell(actions)].forEach(function (td) { tr.appendChild(td); });
        return tr;
      });
      fill($("exports").tBodies[0], rows.length ? rows : [emptyRow(6, "No export yet.")]);
    }).catch(fail);
  }

  // download fetches an API file with the token and saves it.
  function download(path, filename) {
    api("GET", path, undefined, { raw: true })
      .then(function (res) { return res.blob(); })
      .then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = filename;
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
      }).catch(fail);
  }

  // Settings: the account's configuration documents, as the API takes
  // them (README "API"), with where each one is used.
  var kinds = {
    "campaigns": {
      help: "A campaign's link goes to the traffic source; clicks redirect to the offer with {clickid} and the source's macros.",
      example: { source_id: "exo", network_id: "net1", offer_url: "https://offer.example/?sub1={clickid}&zone={zone_id}",
        attribution_window_days: 30, goals: { lead: { type: "fixed", value: "2.00" } }, cpc: "0.002" },
      use: function (id) { return location.origin + "/c/" + encodeURIComponent(id) + "?external_id={conversions_tracking}&zone_id={zoneid}&cost={cost}"; },
    },
    "sources": {
      help: "A traffic source gets an outbound postback for each approved conversion of its campaigns.",
      example: { postback_url: "https://source.example/postback?tag={external_id}&value={payout}", statuses: ["approved"] },
    },
    "networks": {
      help: "An affiliate network sends postbacks with its own parameter names, a shared secret and, if you like, from known addresses.",
      example: { preset: "generic", secret: "a-long-random-secret", allow_ips: [] },
      // The server writes it: the preset's parameter names, the network's macros.
      use: function (id, doc) { return doc.postback_url || ""; },
    },
    "webhooks": {
      help: "A CRM webhook receives each lead and conversion, signed with HMAC-SHA256.",
      example: { url: "https://crm.example/hooks/pixelpost", secret: "at-least-16-characters", events: ["lead", "conversion"] },
    },
    "lead-endpoints": {
      help: "A lead-card endpoint takes submissions checked with the card's MD5 token salt.",
      example: { salt: "the-card-salt", fields: { name: "name", email: "email", screen_name: "screen_name" }, token_includes_hidden: false },
      use: function (id) { return location.origin + "/v1/leads/" + encodeURIComponent(id); },
    },
    "crm-sources": {
      help: "A CRM source posts lead stages (JSON or CSV), forwarded to a Meta dataset.",
      example: { preset: "generic", lead_event_source: "HubSpot", dataset_id: "123456789012345", secret: "a-shared-secret" },
      use: function (id) { return location.origin + "/v1/crm/" + encodeURIComponent(id) + "/events"; },
    },
    "meta-datasets": {
      help: "A Meta dataset (Conversions API for CRM): its id and access token.",
      example: { access_token: "EAAB...", api_version: "v21.0", test_event_code: "" },
    },
  };

  function loadConfigs() {
    var kind = $("config-kind").value, k = kinds[kind];
    $("config-help").textContent = k.help;
    if (!$("config-id").value) $("config-doc").value = JSON.stringify(k.example, null, 2);
    api("GET", accountPath() + "/" + kind).then(function (all) {
      var ids = Object.keys(all).sort();
      fill($("configs").tBodies[0], ids.length ? ids.map(function (id) {
        var tr = document.createElement("tr");
        tr.className = "clickable";
        tr.dataset.id = id;
        [cell(id), cell(k.use ? k.use(id, all[id]) : "", "query"), cell(JSON.stringify(all[id]), "query")].forEach(function (td) { tr.appendChild(td); });
        tr.addEventListener("click", function () {
          $("config-id").value = id;
          $("config-doc").value = JSON.stringify(all[id], null, 2);
        });
        return tr;
      }) : [emptyRow(3, "None yet: fill in the form below.")]);
    }).catch(fail);
  }

  function saveConfig(ev) {
    ev.preventDefault();
    var kind = $("config-kind").value, id = $("config-id").value.trim();
    var doc;
    try {
      doc = JSON.parse($("config-doc").value);
    } catch (e) {
      $("config-result").textContent = "The document is not JSON: " + e.message;
      return;
    }
    api("PUT", accountPath() + "/" + kind + "/" + encodeURIComponent(id), doc).then(function (saved) {
      $("config-result").textContent = "Saved " + id + ".";
      $("config-doc").value = JSON.stringify(saved, null, 2);
      loadConfigs();
    }).catch(function (err) { $("config-result").textContent = err.message; });
  }

  function loadConfigByID() {
    var kind = $("config-kind").value, id = $("config-id").value.trim();
    if (!id) return;
    api("GET", accountPath() + "/" + kind + "/" + encodeURIComponent(id)).then(function (d) {
      $("config-doc").value = JSON.stringify(d, null, 2);
    }).catch(function () {});
  }

  // API keys of the account (the admin token's business).
  function loadKeys() {
    api("GET", accountPath() + "/api-keys").then(function (out) {
      fill($("api-keys").tBodies[0], out.api_keys.length ? out.api_keys.map(function (k) {
        var tr = document.createElement("tr");
        var del = document.createElement("button");
        del.type = "button";
        del.textContent = "Delete";
        del.addEventListener("click", function () {
          api("DELETE", accountPath() + "/api-keys/" + encodeURIComponent(k.id)).then(loadKeys).catch(fail);
        });
        [cell(k.name), cell(k.key, "query"), cell(k.role === "read" ? "read only" : "read and write"), cell(when(k.created_at)), cell(del)]
          .forEach(function (td) { tr.appendChild(td); });
        return tr;
      }) : [emptyRow(5, "No key yet.")]);
    }).catch(function (err) {
      fill($("api-keys").tBodies[0], [emptyRow(5, err.code === "admin_only" ? "Signed in with an account key: only the admin token manages keys." : err.message)]);
    });
  }

  function makeKey(ev) {
    ev.preventDefault();
    api("POST", accountPath() + "/api-keys", { name: $("key-name").value.trim(), role: $("key-role").value }).then(function (k) {
      $("key-result").textContent = "New key (shown once, copy it now): " + k.key;
      loadKeys();
    }).catch(function (err) { $("key-result").textContent = err.message; });
  }

  // Wiring.

  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", signOut);
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.dataset.view); });
  });
  $("webinar-form").addEventListener("submit", saveWebinar);
  $("checkout").addEventListener("change", applyPreset);
  fields.forEach(function (id) { $(id).addEventListener("input", renderSnippets); });
  $("import-form").addEventListener("submit", importRegistrants);
  $("download-registrants").addEventListener("click", downloadRegistrants);
  $("attendee-form").addEventListener("submit", lookUp);
  $("erase").addEventListener("click", erase);
  $("refresh-activity").addEventListener("click", loadActivity);
  $("delivery-status").addEventListener("change", loadDeliveries);
  $("report-form").addEventListener("submit", loadReport);
  $("export-form").addEventListener("submit", createExport);
  $("config-kind").addEventListener("change", function () {
    $("config-id").value = "";
    $("config-result").textContent = "";
    loadConfigs();
  });
  $("config-form").addEventListener("submit", saveConfig);
  $("key-form").addEventListener("submit", makeKey);
  $("config-id").addEventListener("change", loadConfigByID);

  if (state.token && state.account) {
    $("token").value = state.token;
    $("account").value = state.account;
    api("GET", accountPath()).then(start).catch(function () { sessionStorage.clear(); });
  }
})();
