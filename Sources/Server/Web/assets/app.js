// Progressive enhancement of the Jira settings form: Test settings and the issue type refresh run in
// place (without losing typed values); the issues warning follows its checkbox; Reset asks first.
(function () {
  "use strict";

  function formBody(form) {
    return new URLSearchParams(new FormData(form));
  }

  function csrf(form) {
    var field = form.querySelector("input[name=_csrf]");
    return field ? field.value : "";
  }

  function post(form, url) {
    return fetch(url, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf(form) },
      body: formBody(form),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (doc) { return { status: response.status, doc: doc }; });
    });
  }

  function setupSettings(form) {
    var result = document.getElementById("test-result");
    var testButton = document.getElementById("test-settings");
    if (testButton && result) {
      testButton.addEventListener("click", function (event) {
        event.preventDefault();
        result.className = "";
        result.textContent = "Testing…";
        testButton.disabled = true;
        post(form, form.dataset.testAction).then(function (answer) {
          var doc = answer.doc || {};
          if (doc.success) {
            result.className = "ok";
            result.textContent = "Connection successful.";
          } else {
            result.className = "error";
            var detail = doc.service_response ? " " + doc.service_response : "";
            result.textContent = (doc.message || "Connection failed. Check your integration settings.") + detail;
          }
        }).catch(function () {
          result.className = "error";
          result.textContent = "The test could not be run.";
        }).then(function () { testButton.disabled = false; });
      });
    }

    var refresh = document.getElementById("refresh-issue-types");
    var select = document.getElementById("vulnerabilities_issuetype");
    var status = document.getElementById("issue-types-status");
    if (refresh && select) {
      refresh.addEventListener("click", function (event) {
        event.preventDefault();
        var current = select.value;
        status.textContent = "Loading issue types from Jira…";
        refresh.disabled = true;
        post(form, form.dataset.typesAction).then(function (answer) {
          var doc = answer.doc;
          if (!Array.isArray(doc)) {
            status.textContent = (doc && doc.message) || "The issue types could not be loaded.";
            return;
          }
          while (select.firstChild) { select.removeChild(select.firstChild); }
          if (doc.length === 0) {
            var none = document.createElement("option");
            none.value = "";
            none.textContent = "No issue types found";
            select.appendChild(none);
          }
          doc.forEach(function (type) {
            var option = document.createElement("option");
            option.value = type.id;
            option.textContent = type.name;
            if (type.id === current) { option.selected = true; }
            select.appendChild(option);
          });
          status.textContent = doc.length + " issue types loaded from Jira.";
        }).catch(function () {
          status.textContent = "The issue types could not be loaded.";
        }).then(function () { refresh.disabled = false; });
      });
    }

    var issues = document.getElementById("issues_enabled");
    var warning = document.getElementById("issues-warning");
    if (issues && warning) {
      var sync = function () { warning.hidden = !issues.checked; };
      issues.addEventListener("change", sync);
      sync();
    }
  }

  function setupConfirm() {
    document.querySelectorAll("form.confirm").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm || "Are you sure?")) { event.preventDefault(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("jira-settings");
    if (form) { setupSettings(form); }
    setupConfirm();
  });
})();
