/* chokepoints pages: charts, partial updates and the report button. No network beyond this
 * server. The partial updates follow a small subset of htmx's attributes (hx-get, hx-trigger
 * with "delay:Nms", hx-target, hx-select, hx-swap innerHTML|outerHTML, hx-push-url), so that
 * htmx itself could replace this file without touching the templates. */
(function () {
  "use strict";

  var PLOTLY_CONFIG = { displaylogo: false, responsive: true, topojsonURL: "/vendor/topojson/" };

  /* Draw every chart under root that is not drawn yet (its figure is in data-figure). */
  function drawCharts(root) {
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var figure = JSON.parse(el.dataset.figure);
      el.dataset.drawn = "1";
      window.Plotly.newPlot(el, figure.data, figure.layout || {}, PLOTLY_CONFIG);
    });
  }

  /* The URL a form (or element) asks: its hx-get with the form's non-empty fields. */
  function requestUrl(el) {
    var url = new URL(el.getAttribute("hx-get"), window.location.origin);
    var form = el.tagName === "FORM" ? el : el.closest("form");
    if (form) {
      new FormData(form).forEach(function (value, name) {
        if (value !== "") url.searchParams.append(name, value);
      });
    }
    return url;
  }

  /* Ask the server for the part of the page that changes and swap it in. */
  var pending = null;
  function load(el) {
    var url = requestUrl(el);
    var target = document.querySelector(el.getAttribute("hx-target") || "#page");
    if (pending) pending.abort();
    pending = new AbortController();
    document.body.classList.add("loading");
    fetch(url, { headers: { "HX-Request": "true" }, signal: pending.signal, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var parsed = document.createElement("template");
        parsed.innerHTML = html;
        var select = el.getAttribute("hx-select");
        var part = select ? parsed.content.querySelector(select) : null;
        var content = part ? part.outerHTML : html;
        if (el.getAttribute("hx-swap") === "outerHTML") {
          target.outerHTML = content;
          target = document.querySelector(el.getAttribute("hx-target"));
        } else {
          target.innerHTML = content;
        }
        if (el.getAttribute("hx-push-url") === "true") {
          window.history.pushState({ partial: true }, "", url.pathname + url.search);
        }
        var main = document.querySelector("main[data-title]");
        if (main) document.title = main.dataset.title;
        activate(target);
      })
      .catch(function (error) { if (error.name !== "AbortError") window.location.assign(url); })
      .finally(function () { document.body.classList.remove("loading"); });
  }

  /* Wire the hx-get elements under root to their triggers. */
  function activate(root) {
    drawCharts(root);
    root.querySelectorAll("[hx-get]").forEach(function (el) {
      if (el.dataset.wired) return;
      el.dataset.wired = "1";
      var spec = el.getAttribute("hx-trigger") || (el.tagName === "FORM" ? "submit" : "click");
      var delay = /delay:(\d+)ms/.exec(spec);
      var timer = null;
      spec.split(",").forEach(function (part) {
        var event = part.trim().split(" ")[0];
        el.addEventListener(event, function (e) {
          if (event === "submit") e.preventDefault();
          window.clearTimeout(timer);
          timer = window.setTimeout(function () { load(el); }, delay ? Number(delay[1]) : 0);
        });
      });
      if (el.tagName === "FORM" && spec.indexOf("submit") < 0) {
        el.addEventListener("submit", function (e) { e.preventDefault(); load(el); });
      }
    });
    root.querySelectorAll("input[type=range][data-output]").forEach(function (input) {
      if (input.dataset.wired) return;
      input.dataset.wired = "1";
      input.addEventListener("input", function () {
        var out = document.getElementById(input.dataset.output);
        if (out) out.textContent = Number(input.value) >= 1 ? "no cap" : Math.round(input.value * 100) + "%";
      });
    });
    /* A preset takes the place of the custom shock's fields (disabled fields are not sent). */
    root.querySelectorAll("select[name=preset]").forEach(function (select) {
      var custom = select.form && select.form.querySelector("fieldset.custom-shock");
      if (!custom) return;
      select.addEventListener("change", function () { custom.disabled = select.value !== ""; });
    });
    root.querySelectorAll(".report-button").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", function () { downloadReport(button); });
    });
  }

  /* The report as a background job (POST /api/v1/jobs), its progress from the job's events. */
  function downloadReport(button) {
    var status = button.parentElement.querySelector(".report-status");
    var say = function (text) { status.textContent = text; };
    var params = { economy: button.dataset.country };
    if (button.dataset.year) params.year = Number(button.dataset.year);
    button.disabled = true;
    say("Starting the report…");
    fetch("/api/v1/jobs", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ question: "report", params: params }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.detail || "the server refused the report");
          return body;
        });
      })
      .then(function (job) {
        var events = new EventSource(job.events_url);
        events.addEventListener("progress", function (e) {
          var p = JSON.parse(e.data);
          say("Report: " + (p.description || "working") + " (" + p.done + " of " + p.total + ")");
        });
        events.addEventListener("done", function () {
          events.close();
          say("Report ready.");
          button.disabled = false;
          window.location.assign(job.result_url);
        });
        events.addEventListener("error", function (e) {
          events.close();
          button.disabled = false;
          var detail = e.data ? (JSON.parse(e.data).detail || e.data) : "the connection was lost";
          say("The report failed: " + detail);
        });
      })
      .catch(function (error) {
        button.disabled = false;
        say("The report failed: " + error.message);
      });
  }

  window.addEventListener("popstate", function () { window.location.reload(); });
  /* Printing opens every table view and fits each chart to the paper's width. */
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    document.querySelectorAll("[data-drawn]").forEach(function (el) { window.Plotly.Plots.resize(el); });
  });
  window.addEventListener("afterprint", function () {
    document.querySelectorAll("[data-drawn]").forEach(function (el) { window.Plotly.Plots.resize(el); });
  });
  document.addEventListener("DOMContentLoaded", function () { activate(document); });
})();
