// Progressive enhancement of the Jira settings form: Test settings, the issue type refresh and "Load
// transitions" run in place (without losing typed values); the issues warning follows its checkbox; Reset asks
// first.
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

    setupTransitionPicker(form);

    var issues = document.getElementById("issues_enabled");
    var warning = document.getElementById("issues-warning");
    if (issues && warning) {
      var sync = function () { warning.hidden = !issues.checked; };
      issues.addEventListener("change", sync);
      sync();
    }
  }

  // "Load transitions": the issue's transitions become choices (a datalist for both fields, and buttons that add a
  // name to the transition field last used).
  function setupTransitionPicker(form) {
    var load = document.getElementById("load-transitions");
    var issue = document.getElementById("transitions_issue");
    var status = document.getElementById("transitions-status");
    var list = document.getElementById("transition-names");
    var chips = document.getElementById("transition-choices");
    if (!load || !issue || !list || !chips) { return; }
    var fields = ["jira_issue_transition_id", "merge_request_opened_transition"]
      .map(function (id) { return document.getElementById(id); })
      .filter(function (field) { return field; });
    var target = fields[0];
    fields.forEach(function (field) { field.addEventListener("focus", function () { target = field; }); });

    function add(name) {
      if (!target) { return; }
      var current = target.value.trim();
      target.value = current ? current.replace(/[,;]\s*$/, "") + ", " + name : name;
      target.focus();
    }

    chips.addEventListener("click", function (event) {
      var chip = event.target.closest("button.chip");
      if (!chip) { return; }
      event.preventDefault();
      add(chip.dataset.transition);
    });

    load.addEventListener("click", function (event) {
      event.preventDefault();
      status.textContent = "Loading transitions from Jira…";
      load.disabled = true;
      post(form, form.dataset.transitionsAction).then(function (answer) {
        var doc = answer.doc;
        if (!Array.isArray(doc)) {
          status.textContent = (doc && doc.message) || "The transitions could not be loaded.";
          return;
        }
        while (list.firstChild) { list.removeChild(list.firstChild); }
        while (chips.firstChild) { chips.removeChild(chips.firstChild); }
        doc.forEach(function (t) {
          var option = document.createElement("option");
          option.value = t.name;
          option.textContent = t.name + " (" + t.id + ")" + (t.to ? " → " + t.to : "");
          list.appendChild(option);
          var item = document.createElement("li");
          var chip = document.createElement("button");
          chip.type = "button";
          chip.className = "chip";
          chip.dataset.transition = t.name;
          chip.textContent = t.name;
          var note = document.createElement("span");
          note.className = "muted small";
          note.textContent = " id " + t.id + (t.to ? ", to " + t.to : "");
          item.appendChild(chip);
          item.appendChild(note);
          chips.appendChild(item);
        });
        status.textContent = doc.length + " transitions " + issue.value.trim().toUpperCase() + " offers now.";
      }).catch(function () {
        status.textContent = "The transitions could not be loaded.";
      }).then(function () { load.disabled = false; });
    });
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
