// The assess page: every change of the checklist asks /api/assess and redraws the result.
// Plain script, no build step, no third-party code. Everything shown is set with textContent.
(function () {
  "use strict";
  var form = document.getElementById("checklist");
  if (!form) return;
  var result = document.getElementById("result");
  var status = document.getElementById("status");
  var wordsData = JSON.parse(document.getElementById("hepcal-words").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var NONE = "__none__";
  var seq = 0;
  var timer = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function words(v) { return String(v).replace(/_/g, " "); }
  function percent(p) {
    if (p >= 0.995) return ">99%";
    if (p < 0.005) return p > 0 ? "<1%" : "0%";
    return Math.round(p * 100) + "%";
  }
  function findingText(obs) {
    var m = /^([a-z_]+\.[a-z0-9_]+)(=|\u2260)(.*)$/.exec(obs);
    if (!m) return obs;
    var label = wordsData.labels[m[1]] || m[1];
    var value = m[3] === "true" ? "yes" : m[3] === "false" ? "no" : words(m[3]);
    return label + ": " + (m[2] === "\u2260" ? "not " : "") + value;
  }
  function meter(value, attrs) {
    var m = document.createElement("meter");
    m.min = 0; m.max = 1; m.value = value;
    Object.keys(attrs || {}).forEach(function (k) { m[k] = attrs[k]; });
    m.textContent = percent(value);
    return m;
  }
  function list(items, cls) {
    var ul = el("ul", cls);
    items.forEach(function (t) { ul.appendChild(el("li", null, t)); });
    return ul;
  }

  function fields() { return form.querySelectorAll("[data-key]"); }

  function collect() {
    var c = {};
    fields().forEach(function (f) {
      var key = f.dataset.key, type = f.dataset.type, value;
      if (type === "bool") {
        var r = f.querySelector("input:checked");
        if (!r || r.value === "") return;
        value = r.value === "true";
      } else if (type === "enum") {
        value = f.querySelector("select").value;
        if (!value) return;
      } else if (type === "number") {
        var raw = f.querySelector("input").value.trim();
        if (raw === "") return;
        value = Number(raw);
        if (!isFinite(value)) return;
      } else {
        var picked = Array.prototype.map.call(f.querySelectorAll("input:checked"), function (i) { return i.value; });
        if (!picked.length) return;
        value = picked.indexOf(NONE) >= 0 ? [] : picked;
      }
      var parts = key.split(".");
      (c[parts[0]] = c[parts[0]] || {})[parts[1]] = value;
    });
    return c;
  }

  function renderAssessment(a) {
    var frag = document.createDocumentFragment();
    var rec = a.recommendation;
    var summary = el("section", "summary");
    summary.setAttribute("aria-label", "Summary");
    var mal = el("div", "malignancy");
    mal.appendChild(el("span", "k", "P(malignant)"));
    mal.appendChild(meter(a.malignancy_probability, { low: 0.02, high: 0.1, optimum: 0 }));
    mal.appendChild(el("strong", "v", percent(a.malignancy_probability)));
    summary.appendChild(mal);
    var act = el("div", "action");
    act.appendChild(el("span", "k", "Recommendation"));
    act.appendChild(document.createTextNode(" "));
    act.appendChild(el("strong", "v action-name", wordsData.actions[rec.action] || words(rec.action)));
    if (a.doubtful) { act.appendChild(document.createTextNode(" ")); act.appendChild(el("span", "tag doubtful", "doubtful")); }
    summary.appendChild(act);
    summary.appendChild(list(rec.reasons, "reasons"));
    if (rec.cautions.length) {
      var cau = el("div", "cautions");
      cau.setAttribute("role", "note");
      cau.appendChild(el("h3", null, "Cautions"));
      cau.appendChild(list(rec.cautions));
      summary.appendChild(cau);
    }
    frag.appendChild(summary);

    var ddx = el("section");
    ddx.setAttribute("aria-label", "Differential");
    ddx.appendChild(el("h2", null, "Differential"));
    var ol = el("ol", "ddx");
    a.differential.slice(0, 10).forEach(function (e) {
      var li = el("li", "dx");
      li.dataset.id = e.id;
      var head = el("div", "dx-head");
      head.appendChild(el("span", "dx-name", e.name));
      if (e.malignant) { head.appendChild(document.createTextNode(" ")); head.appendChild(el("span", "tag malignant", "malignant")); }
      head.appendChild(el("span", "dx-p", percent(e.probability)));
      li.appendChild(head);
      li.appendChild(meter(e.probability));
      if (e["for"].length || e.against.length) {
        var basis = el("div", "basis");
        [["for", e["for"]], ["against", e.against]].forEach(function (pair) {
          if (!pair[1].length) return;
          var d = el("div", pair[0]);
          d.appendChild(el("span", "k", pair[0]));
          d.appendChild(list(pair[1].slice(0, 4).map(function (c) { return findingText(c.finding); })));
          basis.appendChild(d);
        });
        li.appendChild(basis);
      }
      ol.appendChild(li);
    });
    ddx.appendChild(ol);
    frag.appendChild(ddx);
    if (a.next_findings.length) frag.appendChild(renderNext(a.next_findings));
    if (rec.next_tests.length) {
      var nt = el("section");
      nt.setAttribute("aria-label", "Next tests");
      nt.appendChild(el("h2", null, "Next tests"));
      nt.appendChild(list(rec.next_tests, "next-tests"));
      frag.appendChild(nt);
    }
    frag.appendChild(el("p", "kb", "Knowledge base " + a.knowledge_base.name + " " + a.knowledge_base.version));
    result.replaceChildren(frag);
  }

  function fieldOf(key) { return form.querySelector('[data-key="' + key + '"]'); }

  function focusField(key) {
    var f = fieldOf(key);
    if (!f) return;
    var control = f.querySelector("input:checked") || f.querySelector("input, select");
    f.classList.add("flash");
    setTimeout(function () { f.classList.remove("flash"); }, 1600);
    f.scrollIntoView({ block: "center" });
    if (control) control.focus({ preventScroll: true });
  }

  function enter(key, value) {
    var f = fieldOf(key);
    if (!f) return;
    if (f.dataset.type === "bool") {
      var r = f.querySelector('input[value="' + value + '"]');
      if (r) r.checked = true;
    } else if (f.dataset.type === "enum") {
      f.querySelector("select").value = value;
    }
    focusField(key);
    schedule(0);
  }

  function renderNext(items) {
    var sec = el("section", "next-findings");
    sec.setAttribute("aria-labelledby", "next-title");
    var h = el("h2", null, "Most useful next findings");
    h.id = "next-title";
    sec.appendChild(h);
    var ol = el("ol", "next");
    items.forEach(function (n) {
      var li = el("li", "next-item");
      li.dataset.key = n.finding;
      var f = fieldOf(n.finding);
      var type = f ? f.dataset.type : "";
      var go = el("button", "link next-label", n.label);
      go.type = "button";
      go.dataset.key = n.finding;
      go.title = "Go to this finding in the checklist";
      li.appendChild(go);
      li.appendChild(el("span", "eig", n.expected_information_gain_bits.toFixed(2) + " bits"));
      if (type === "bool" || type === "enum") {
        var opts = el("span", "outcomes");
        Object.keys(n.outcomes).sort(function (x, y) { return n.outcomes[y] - n.outcomes[x]; }).forEach(function (state) {
          var text = type === "bool" ? (state === "true" ? "yes" : "no") : words(state);
          var b = el("button", "outcome", text + " (" + percent(n.outcomes[state]) + ")");
          b.type = "button";
          b.dataset.key = n.finding;
          b.dataset.value = state;
          b.setAttribute("aria-label", n.label + ": enter " + text);
          opts.appendChild(b);
        });
        li.appendChild(opts);
      }
      ol.appendChild(li);
    });
    sec.appendChild(ol);
    return sec;
  }

  // Suggestions (server-rendered or drawn here) are handled by delegation.
  result.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-key]");
    if (!b) return;
    ev.preventDefault();
    if (b.classList.contains("outcome")) enter(b.dataset.key, b.dataset.value);
    else focusField(b.dataset.key);
  });

  function showProblems(body) {
    var box = el("div", "problems");
    box.setAttribute("role", "alert");
    box.appendChild(el("h2", null, "Please check"));
    var items = (body && body.problems && body.problems.length) ? body.problems.map(function (p) { return p.path + ": " + p.message; })
      : [(body && body.error) || "The assessment failed."];
    box.appendChild(list(items));
    result.replaceChildren(box);
  }

  function update() {
    var c = collect();
    var mine = ++seq;
    document.querySelectorAll(".results > .problems").forEach(function (p) { p.remove(); });
    if (!c.finding || !Object.keys(c.finding).length) {
      result.replaceChildren(el("p", "empty", "Enter at least one finding of the lesion (calcification pattern, number, …): the differential appears here and updates with every change."));
      status.textContent = "";
      return;
    }
    status.textContent = "Updating…";
    fetch("/api/assess", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(c)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (mine !== seq) return;
      if (res.ok) {
        renderAssessment(res.body);
        var top = res.body.differential[0];
        status.textContent = "Updated: " + top.name + " " + percent(top.probability) + ", P(malignant) " + percent(res.body.malignancy_probability) + ".";
      } else {
        showProblems(res.body);
        status.textContent = "Not assessed: please check the findings.";
      }
      form.dataset.assessed = String(mine);
    }).catch(function () {
      if (mine !== seq) return;
      status.textContent = "The server could not be reached.";
    });
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(update, delay === undefined ? 150 : delay);
  }

  form.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.type === "checkbox") {
      var box = t.closest("[data-key]");
      if (t.value === NONE && t.checked) {
        box.querySelectorAll("input").forEach(function (i) { if (i !== t) i.checked = false; });
      } else if (t.checked) {
        var none = box.querySelector('input[value="' + NONE + '"]');
        if (none) none.checked = false;
      }
    }
    schedule();
  });
  form.addEventListener("input", function (ev) { if (ev.target.type === "number") schedule(400); });
  form.addEventListener("reset", function () { setTimeout(function () { schedule(0); }, 0); });
  form.addEventListener("submit", function (ev) {
    if (ev.submitter && ev.submitter.id === "assess-button") { ev.preventDefault(); schedule(0); }
  });
  if (Object.keys(collect()).length) schedule(0);
})();
