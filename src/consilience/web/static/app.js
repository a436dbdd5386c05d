/* consilience dashboard: send state-changing forms to the JSON API with the write token. */
(function () {
  "use strict";
  var KEY = "consilience-token";

  function stored() {
    try { return window.sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }

  function remember(token) {
    try { window.sessionStorage.setItem(KEY, token); } catch (e) { /* storage disabled */ }
  }

  function show(out, text, kind) {
    if (!out) { return; }
    out.textContent = text;
    out.className = "result " + kind;
  }

  function submit(form, event) {
    event.preventDefault();
    var out = form.querySelector("[data-result]");
    var button = form.querySelector("button");
    var data = new FormData(form);
    var token = String(data.get("token") || "").trim();
    var body = {};
    data.forEach(function (value, key) { if (key !== "token") { body[key] = String(value); } });
    if (button) { button.disabled = true; }
    show(out, "Working…", "");
    window.fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": "Bearer " + token
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (json) { return { response: response, json: json }; });
    }).then(function (result) {
      if (result.response.ok) {
        remember(token);
        show(out, result.json.message || "Done.", "ok");
        var url = new URL(window.location.href);
        url.searchParams.set("done", form.getAttribute("data-api") || "change");
        window.location.assign(url.toString());
      } else {
        show(out, "Refused (" + result.response.status + "): " + (result.json.detail || ""), "error");
        if (button) { button.disabled = false; }
      }
    }).catch(function (error) {
      show(out, "Request failed: " + error, "error");
      if (button) { button.disabled = false; }
    });
  }

  document.querySelectorAll("input[data-token]").forEach(function (input) {
    if (!input.value) { input.value = stored(); }
  });
  document.querySelectorAll("form[data-api]").forEach(function (form) {
    form.addEventListener("submit", function (event) { submit(form, event); });
  });
}());
