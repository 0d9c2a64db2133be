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

  // Text inputs with data-lookup="/url" suggest records as the user types (a <datalist>);
  // picking one fills the hidden id field named by data-lookup-id. Without script the server
  // resolves what was typed (a name or a code).
  // Customers come with their code, colleagues with their department.
  function lookupLabel(it) { return it.name + '（' + (it.code || it.dept || '') + '）'; }
  document.querySelectorAll('input[data-lookup]').forEach(function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    var hidden = input.form && input.form.querySelector('input[name="' + input.getAttribute('data-lookup-id') + '"]');
    var timer = null;
    var items = [];
    input.addEventListener('input', function () {
      if (hidden) { hidden.value = ''; }
      var picked = items.filter(function (it) { return lookupLabel(it) === input.value; })[0];
      if (picked) {
        if (hidden) { hidden.value = picked.id; }
        input.value = picked.name;
        return;
      }
      clearTimeout(timer);
      if (!input.value.trim()) { return; }
      timer = setTimeout(function () {
        fetch(input.getAttribute('data-lookup') + '?q=' + encodeURIComponent(input.value), { credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (data) {
            items = data;
            if (!list) { return; }
            list.textContent = '';
            data.forEach(function (it) {
              var o = document.createElement('option');
              o.value = lookupLabel(it);
              list.appendChild(o);
            });
          });
      }, 200);
    });
  });

  // Close the user menu when clicking elsewhere.
  document.addEventListener('click', function (e) {
    document.querySelectorAll('details.user-menu[open]').forEach(function (d) {
      if (!d.contains(e.target)) { d.removeAttribute('open'); }
    });
  });
})();
