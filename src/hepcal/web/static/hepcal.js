// The assess page: every change of the checklist posts the case to /assess/result, which answers
// with the result drawn by the page's own (autoescaped) templates; a refused case answers with its
// problems by key, marked at each field while the last valid result stays on screen.
// Plain script, no build step, no third-party code. Messages are set with textContent.
(function () {
  "use strict";
  var form = document.getElementById("checklist");
  if (!form) return;
  var result = document.getElementById("result");
  var glance = document.getElementById("glance");
  var status = document.getElementById("status");
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
  function fields() { return form.querySelectorAll("[data-key]"); }
  function fieldOf(key) { return form.querySelector('[data-key="' + key + '"]'); }

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
        var raw = f.querySelector("input").value.trim().replace(",", ".");
        if (raw === "") return;
        // A number goes as a number; anything else goes as typed, and the server names the problem.
        value = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : raw;
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

  // -- sections: open the one holding a field we go to; count what each holds -------------
  function openSectionOf(f) {
    var d = f.closest("details");
    if (d && !d.open) d.open = true;
  }
  function countEntered() {
    form.querySelectorAll("details.section").forEach(function (d) {
      var n = 0;
      d.querySelectorAll("[data-key]").forEach(function (f) {
        var k = f.dataset.key.split(".");
        var c = collected[k[0]];
        if (c && Object.prototype.hasOwnProperty.call(c, k[1])) n += 1;
      });
      var badge = d.querySelector(".entered");
      if (badge) badge.textContent = n ? n + " entered" : "";
    });
  }
  var collected = {};

  function focusField(key) {
    var f = fieldOf(key);
    if (!f) return;
    openSectionOf(f);
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

  // Suggestions in the result are handled by delegation (they are redrawn with every answer).
  result.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-key]");
    if (!b) return;
    ev.preventDefault();
    if (b.classList.contains("outcome")) enter(b.dataset.key, b.dataset.value);
    else focusField(b.dataset.key);
  });

  // -- field errors ---------------------------------------------------------------------------
  function clearErrors() {
    form.querySelectorAll(".field.invalid").forEach(function (f) {
      f.classList.remove("invalid");
      f.removeAttribute("aria-invalid");
      var target = f.querySelector("select, input[type=text]") || f;
      target.removeAttribute("aria-invalid");
      var msg = f.querySelector(".field-error");
      if (msg) { msg.textContent = ""; msg.hidden = true; }
    });
    var box = document.getElementById("case-problems");
    if (box) box.remove();
  }
  function markErrors(body) {
    var loose = [];
    var problems = (body && body.problems) || [];
    problems.forEach(function (p) {
      var f = p.path ? fieldOf(p.path) : null;
      if (!f) { loose.push((p.path ? p.path + ": " : "") + p.message); return; }
      f.classList.add("invalid");
      openSectionOf(f);
      var msg = f.querySelector(".field-error");
      msg.textContent = p.message;
      msg.hidden = false;
      var target = f.querySelector("select, input[type=text]") || f;
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-describedby", msg.id);
    });
    if (!problems.length) loose.push((body && body.error) || "The assessment failed.");
    if (loose.length) {
      var box = el("div", "problems");
      box.id = "case-problems";
      box.setAttribute("role", "alert");
      box.appendChild(el("h2", null, "Please check"));
      var ul = el("ul");
      loose.forEach(function (t) { ul.appendChild(el("li", null, t)); });
      box.appendChild(ul);
      form.insertBefore(box, form.querySelector(".hint"));
    }
    return problems.map(function (p) { return p.message; });
  }

  function show(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var g = doc.querySelector('[data-part="glance"]');
    var r = doc.querySelector('[data-part="result"]');
    if (g) glance.replaceChildren.apply(glance, Array.prototype.slice.call(g.childNodes));
    if (r) result.replaceChildren.apply(result, Array.prototype.slice.call(r.childNodes));
    result.classList.remove("stale");
    glance.classList.remove("stale");
  }

  function update() {
    var c = collect();
    collected = c;
    countEntered();
    var mine = ++seq;
    if (!c.finding || !Object.keys(c.finding).length) {
      clearErrors();
      result.replaceChildren(el("p", "empty", "Enter at least one finding of the lesion (calcification pattern, number, …): the differential appears here and updates with every change."));
      glance.replaceChildren(el("p", "glance-empty", "No result yet: enter the lesion's findings."));
      status.textContent = "";
      return;
    }
    status.textContent = "Updating…";
    fetch("/assess/result", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "text/html" },
      credentials: "same-origin",
      body: JSON.stringify(c)
    }).then(function (r) {
      var body = r.ok ? r.text() : r.json().catch(function () { return {}; });
      return body.then(function (b) { return { ok: r.ok, body: b }; });
    }).then(function (res) {
      if (mine !== seq) return;
      clearErrors();
      if (res.ok) {
        show(res.body);
        var top = glance.querySelector(".glance-name");
        var mal = glance.querySelector(".glance-mal");
        status.textContent = "Updated: " + (top ? top.textContent : "") + (mal ? ", P(malignant) " + mal.textContent : "") + ".";
      } else {
        var msgs = markErrors(res.body);
        var kept = result.querySelector(".dx") ? " The result shown is for the last valid findings." : "";
        if (kept) { result.classList.add("stale"); glance.classList.add("stale"); }
        status.textContent = "Not updated: " + (msgs.join("; ") || "please check the findings") + "." + kept;
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
  form.addEventListener("input", function (ev) { if (ev.target.type === "text" && ev.target.closest("[data-type=number]")) schedule(400); });
  form.addEventListener("reset", function () { setTimeout(function () { schedule(0); }, 0); });
  form.addEventListener("submit", function (ev) {
    if (ev.submitter && ev.submitter.id === "assess-button") { ev.preventDefault(); schedule(0); }
  });
  collected = collect();
  countEntered();
  if (Object.keys(collected).length) schedule(0);
})();
