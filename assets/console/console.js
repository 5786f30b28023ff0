// Airlock console: the only client script (CSP: script-src 'self'). Keeps an open inbox live through
// server-sent events: on each "changed" event it fetches the inbox table again (what this person may see).
(function () {
  'use strict';
  var inbox = document.getElementById('inbox');
  if (!inbox || !inbox.dataset.live || !window.EventSource) return;
  var listUrl = inbox.dataset.live;
  var busy = false;
  function refresh() {
    if (busy) return;
    busy = true;
    fetch(listUrl, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          var doc = new DOMParser().parseFromString(html, 'text/html');
          inbox.replaceChildren.apply(inbox, Array.prototype.slice.call(doc.body.childNodes));
          inbox.dataset.updated = String(Date.now());
        }
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  var events = new EventSource(inbox.dataset.events);
  events.addEventListener('changed', refresh);
  events.addEventListener('ready', function () { inbox.dataset.connected = 'yes'; });
})();
