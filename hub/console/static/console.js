// Reviewhub console: small enhancements; every page works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    // Show only the settings of the chosen plugin (helpdesk, or an app's store).
    document.querySelectorAll("select.js-plugin").forEach(function (sel) {
      var sync = function () {
        document.querySelectorAll('.plugin-group[data-group="' + sel.dataset.group + '"]').forEach(function (g) {
          g.hidden = g.dataset.plugin !== sel.value;
        });
        // Countries or languages, as the chosen store allows.
        var opt = sel.options[sel.selectedIndex];
        var kind = opt && opt.dataset.locale;
        var app = sel.closest("fieldset.app");
        if (app && opt && opt.value !== "") {
          app.querySelectorAll("[data-locale]").forEach(function (d) {
            if (d.tagName !== "OPTION") { d.hidden = !!kind && d.dataset.locale !== kind; }
          });
        }
      };
      sel.addEventListener("change", sync);
    });
    // Secrets already stored: "Replace" opens the field.
    document.querySelectorAll(".js-replace").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var wrap = document.getElementById(btn.dataset.target + "-wrap");
        wrap.removeAttribute("data-collapsed");
        btn.setAttribute("aria-expanded", "true");
        btn.hidden = true;
        document.getElementById(btn.dataset.target).focus();
      });
    });
    // Copy the webhook URL.
    document.querySelectorAll(".js-copy").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var input = document.getElementById(btn.dataset.target);
        var done = function () {
          var label = btn.textContent;
          btn.textContent = btn.dataset.copied;
          setTimeout(function () { btn.textContent = label; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
        } else {
          input.select();
          try { document.execCommand("copy"); done(); } catch (e) { /* selected: copy by hand */ }
        }
      });
    });
    // Status: refresh every 5 s while the box is ticked.
    var auto = document.querySelector(".js-auto");
    if (auto) {
      auto.hidden = false;
      document.querySelector('label[for="auto-refresh"]').hidden = false;
      var timer = null;
      var arm = function () {
        clearTimeout(timer);
        if (auto.checked) {
          timer = setTimeout(function () {
            var u = new URL(location.href);
            u.searchParams.set("auto", "1");
            location.replace(u.toString());
          }, 5000);
        }
      };
      auto.addEventListener("change", function () {
        if (!auto.checked) {
          var u = new URL(location.href);
          u.searchParams.delete("auto");
          history.replaceState(null, "", u.toString());
        }
        arm();
      });
      arm();
    }
    // After a failed save, take the keyboard to the list of errors.
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
