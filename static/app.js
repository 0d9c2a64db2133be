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

  // <button data-print> prints the page (the contract's printable view).
  document.addEventListener('click', function (e) {
    var el = e.target.closest && e.target.closest('[data-print]');
    if (el) { e.preventDefault(); window.print(); }
  });

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

  // Product lines: picking a product (a <datalist> option carrying data-price) fills an empty
  // price with the list price; "add a line" (shown only with script) copies the last row empty.
  document.addEventListener('change', function (e) {
    var el = e.target;
    if (!el.matches || !el.matches('input[name=line_product]')) { return; }
    var list = document.getElementById(el.getAttribute('list'));
    var row = el.closest('tr');
    var price = row && row.querySelector('input[name=line_price]');
    if (!list || !price || price.value) { return; }
    var opt = Array.prototype.filter.call(list.options, function (o) { return o.value === el.value; })[0];
    if (opt) { price.value = opt.getAttribute('data-price') || ''; }
  });
  document.querySelectorAll('[data-add-row]').forEach(function (btn) {
    var table = document.getElementById(btn.getAttribute('data-add-row'));
    if (!table) { return; }
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var rows = table.tBodies[0].rows;
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.classList.remove('has-error');
      copy.querySelectorAll('input').forEach(function (i) { i.value = ''; });
      copy.querySelectorAll('.field-error').forEach(function (x) { x.remove(); });
      table.tBodies[0].appendChild(copy);
    });
  });

  // The opportunity board: drag a card to another stage's column; the drop submits the same
  // form the card's arrow buttons do (#board-drop, action built from its data-action).
  var drop = document.getElementById('board-drop');
  if (drop) {
    var dragged = null;
    document.querySelectorAll('.board-card[draggable=true]').forEach(function (card) {
      card.addEventListener('dragstart', function (e) {
        dragged = card;
        card.classList.add('dragging');
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', card.getAttribute('data-id'));
      });
      card.addEventListener('dragend', function () { card.classList.remove('dragging'); dragged = null; });
    });
    document.querySelectorAll('.board-col').forEach(function (col) {
      col.addEventListener('dragover', function (e) {
        if (dragged && dragged.closest('.board-col') !== col) { e.preventDefault(); col.classList.add('drop-target'); }
      });
      col.addEventListener('dragleave', function () { col.classList.remove('drop-target'); });
      col.addEventListener('drop', function (e) {
        e.preventDefault();
        col.classList.remove('drop-target');
        if (!dragged || dragged.closest('.board-col') === col) { return; }
        drop.action = drop.getAttribute('data-action').replace('{id}', dragged.getAttribute('data-id'));
        drop.querySelector('input[name=stage_id]').value = col.getAttribute('data-stage');
        drop.submit();
      });
    });
  }

  // Close the user menu when clicking elsewhere.
  document.addEventListener('click', function (e) {
    document.querySelectorAll('details.user-menu[open]').forEach(function (d) {
      if (!d.contains(e.target)) { d.removeAttribute('open'); }
    });
  });
})();
