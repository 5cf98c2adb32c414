// tagpulse pages: what the trends page (app.js) and the tag page (tag.js)
// share: calling the API, writing numbers, and the view the address
// carries (the window and the source and language filters), so that a
// view can be shared, reloaded and kept from one page to the other. Every
// string from the API goes through textContent, never HTML.
"use strict";

window.tagpulse = (function () {
  const REFRESH_MS = 30000;
  // The windows the pickers offer, and how the pages say them.
  const WINDOWS = ["15m", "1h", "6h", "24h", "7d", "30d"];
  const WORDS = {
    "15m": "the last 15 minutes", "1h": "the last hour", "6h": "the last 6 hours",
    "24h": "the last 24 hours", "7d": "the last 7 days", "28d": "the last 28 days",
    "30d": "the last 30 days", "90d": "the last 90 days",
  };
  // PREVIOUS names the window before each one, for "against …".
  const PREVIOUS = {
    "15m": "the 15 minutes before", "1h": "the hour before", "6h": "the 6 hours before",
    "24h": "the 24 hours before", "7d": "the 7 days before", "30d": "the 30 days before",
  };

  function $(id) { return document.getElementById(id); }

  // api asks the API and resolves to its JSON answer; an error answer
  // rejects with the API's message and the status.
  function api(path, params) {
    const u = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(params)) {
      for (const one of [].concat(v)) u.searchParams.append(k, one);
    }
    return fetch(u, { headers: { Accept: "application/json" } }).then(async (r) => {
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw Object.assign(new Error(body.error || "HTTP " + r.status), { status: r.status });
      return body;
    });
  }

  function number(n) {
    return new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(n);
  }

  function posts(n) { return number(n) + (n === 1 ? " post" : " posts"); }

  function accounts(n) { return number(n) + (n === 1 ? " account" : " accounts"); }

  // readView returns the view the address asks for: its window (one of
  // WINDOWS, else 1h) and its filters.
  function readView() {
    const q = new URL(window.location.href).searchParams;
    const view = { window: WINDOWS.includes(q.get("window")) ? q.get("window") : "1h", filters: {} };
    for (const k of ["source", "lang"]) {
      const v = q.get(k);
      if (v) view.filters[k] = v;
    }
    return view;
  }

  // viewQuery is the query string of a view, as the pages' addresses carry
  // it.
  function viewQuery(view) {
    const q = new URLSearchParams({ window: view.window });
    for (const k of ["source", "lang"]) {
      if (view.filters[k]) q.set(k, view.filters[k]);
    }
    return q.toString();
  }

  // tagHref is the address of a tag's page, keeping the view.
  function tagHref(tag, view) {
    return "/tags/" + encodeURIComponent(tag) + "?" + viewQuery(view);
  }

  // trendsHref is the address of the trends page, keeping the view.
  function trendsHref(view) { return "/?" + viewQuery(view); }

  // share writes the view into the address (keeping its path), so that it
  // can be shared and a reload restores it.
  function share(view) {
    const u = new URL(window.location.href);
    u.search = viewQuery(view);
    history.replaceState(null, "", u);
  }

  // fillFilters puts the stored sources and languages in the filter menus,
  // keeps the values the view chose selected (even one no post has, so the
  // page shows what was shared), and leaves the menus at "All" when the
  // values cannot be loaded.
  async function fillFilters(view) {
    let known = { sources: [], langs: [] };
    try { known = await api("/api/v1/filters", {}); } catch (err) { /* the menus keep "All" and the view's values */ }
    for (const [k, values] of [["source", known.sources], ["lang", known.langs]]) {
      const menu = $("f-" + k);
      const all = new Set(values);
      if (view.filters[k]) all.add(view.filters[k]);
      for (const v of [...all].sort()) {
        const o = document.createElement("option");
        o.value = v;
        o.textContent = v;
        menu.appendChild(o);
      }
      menu.value = view.filters[k] || "";
    }
  }

  // choices fills #choices with one radio button per window, the view's
  // checked.
  function choices(view) {
    const box = $("choices");
    for (const w of WINDOWS) {
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "window";
      input.id = "w-" + w;
      input.value = w;
      input.checked = w === view.window;
      const label = document.createElement("label");
      label.htmlFor = input.id;
      label.title = WORDS[w].replace(/^the /, "");
      label.textContent = w;
      box.append(input, label);
    }
  }

  // pick builds the window picker and fills the filter menus of the form
  // #window-picker, and wires them to the view: a change updates the view
  // and the address, then calls changed.
  function pick(view, changed) {
    choices(view);
    const form = $("window-picker");
    form.addEventListener("change", (e) => {
      const k = e.target.name;
      if (k === "window") view.window = e.target.value;
      else if (k === "source" || k === "lang") {
        if (e.target.value) view.filters[k] = e.target.value;
        else delete view.filters[k];
      } else return;
      share(view);
      changed();
    });
    form.addEventListener("submit", (e) => e.preventDefault());
    fillFilters(view);
  }

  // refresh calls load now, every REFRESH_MS while the page is visible and
  // when it becomes visible again. The returned function starts the
  // interval over (after a change, which loads at once).
  function refresh(load) {
    let timer = null;
    const restart = () => {
      clearInterval(timer);
      timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
    };
    document.addEventListener("visibilitychange", () => { if (!document.hidden) load(); });
    load();
    restart();
    return restart;
  }

  return Object.freeze({
    WINDOWS, WORDS, PREVIOUS, $, api, number, posts, accounts,
    readView, viewQuery, tagHref, trendsHref, share, pick, refresh,
  });
})();
