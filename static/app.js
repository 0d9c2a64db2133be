// Small progressive enhancements; every page works without them.
(function () {
  'use strict';

  // Ask before destructive submits: <form data-confirm="..."> or <button data-confirm="...">.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var btn = e.submitter;
    var msg = (btn && btn.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  }, true);

  // A checkbox with data-check-all="name" toggles every checkbox named `name` in its form.
  document.addEventListener('change', function (e) {
    var el = e.target;
    var name = el.getAttribute && el.getAttribute('data-check-all');
    if (name) {
      var scope = el.form || document;
      scope.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (c) {
        c.checked = el.checked;
      });
    }
    if (el.hasAttribute && el.hasAttribute('data-autosubmit') && el.form) { el.form.submit(); }
  });

  // Close the user menu when clicking elsewhere.
  document.addEventListener('click', function (e) {
    document.querySelectorAll('details.user-menu[open]').forEach(function (d) {
      if (!d.contains(e.target)) { d.removeAttribute('open'); }
    });
  });
})();
