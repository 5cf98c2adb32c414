// tagpulse tag page (/tags/{tag}): loads /api/v1/tags/{tag} for the
// window and filters of the address and shows the tag's posts and
// accounts against the previous window, its chart, since when it rises,
// the tags used with it (each linking to its own page) and its latest
// posts. No dependencies beyond shared.js. The posts' text comes from
// anyone who posted: every string from the API goes through textContent,
// never HTML, and a post's link is made only of an http or https URL.
"use strict";

(function () {
  const { WORDS, PREVIOUS, $, api, number, posts, accounts } = window.tagpulse;
  const SVG = "http://www.w3.org/2000/svg";
  // The CSV link asks for as many posts as the API lists at most.
  const CSV_POSTS = 100;

  const view = window.tagpulse.readView();
  const tag = tagFromPath();
  let generation = 0;
  let shown = null; // the page on screen, drawn again when the width changes

  // tagFromPath reads the tag from the address: /tags/{tag}, escaped.
  function tagFromPath() {
    const raw = window.location.pathname.replace(/^\/tags\//, "");
    try {
      return decodeURIComponent(raw);
    } catch (err) {
      return raw;
    }
  }

  function svg(name, attrs) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  function el(name, className, text) {
    const e = document.createElement(name);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const day = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
  const sameDay = (a, b) => a.toDateString() === b.toDateString();

  // when writes a time as the page shows it: the hour and minute, after
  // the day when it is not the day of ref (the window's end).
  function when(t, ref) {
    return sameDay(t, ref) ? clock.format(t) : day.format(t) + ", " + clock.format(t);
  }

  // safeURL returns a post's URL when it is an absolute http or https URL,
  // else null: a javascript: or data: URL must never become a link.
  function safeURL(s) {
    if (!s) return null;
    try {
      const u = new URL(s);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (err) {
      return null;
    }
  }

  // change says how a count compares with the previous window's.
  function change(now, before, unit) {
    const prev = PREVIOUS[view.window];
    if (before === 0) return now === 0 ? `none in ${prev} either` : `none in ${prev}`;
    const diff = now - before;
    const sign = diff > 0 ? "+" : diff < 0 ? "−" : "±";
    const pct = Math.round((Math.abs(diff) / before) * 100);
    return `${sign}${number(Math.abs(diff))} (${sign}${number(pct)}%) against ${unit(before)} in ${prev}`;
  }

  function filterWords() {
    const parts = [];
    if (view.filters.source) parts.push(`from source ${view.filters.source}`);
    if (view.filters.lang) parts.push(`in language ${view.filters.lang}`);
    return parts.length ? " " + parts.join(" ") : "";
  }

  // niceMax rounds a chart's highest count up to 1, 2 or 5 times a power
  // of ten, so the axis reads in round numbers.
  function niceMax(v) {
    if (v <= 1) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  // chart draws the page's points as a line over time, width pixels wide:
  // a dot per step (its title says the step and its counts), the window
  // shaded, times under the axis and a mark where the rise started. The
  // time axis ends at the window's end, the query time.
  //
  // The last step holds the query time and is still filling. Drawn at its
  // count so far, the line would dip at its right edge and a burst would
  // look as if it were ending. So, as the trends page's sparklines do:
  // until half of it has passed only its dot shows, hollow, at its count
  // so far (a few early posts say little about the step); after that it is
  // drawn at its pace (the count so far over the part passed), dashed, with
  // a hollow dot: a projection, not a count.
  function chart(page, width) {
    const points = page.points || [];
    const w = Math.max(260, Math.round(width)), h = 210;
    const left = 40, right = 10, top = 12, bottom = 26;
    const stepWord = page.step === "1d" ? "day" : "hour";
    const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, class: "chart", role: "img" });
    const peak = points.reduce((best, p) => (p.count > best.count ? p : best), { count: 0 });
    const to = new Date(page.to);
    const label = `#${page.display || page.tag}: posts per ${stepWord}` +
      (peak.count > 0 ? `, peak ${number(peak.count)} at ${when(new Date(peak.time), to)}` : ", none") +
      `; ${WORDS[view.window]} is shaded`;
    root.setAttribute("aria-label", label);
    root.append(Object.assign(svg("title"), { textContent: label }));
    if (points.length === 0) return root;
    const last = points[points.length - 1];
    const lastStart = Date.parse(last.time), lastEnd = Date.parse(last.end);
    const filled = Math.min(1, Math.max(0, (to.getTime() - lastStart) / (lastEnd - lastStart)));
    const filling = filled < 1;
    const projected = filling && filled >= 0.5;
    const values = points.map((p) => p.count);
    if (projected) values[values.length - 1] = last.count / filled;
    const t0 = Date.parse(points[0].time), t1 = filling ? to.getTime() : lastEnd;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (w - left - right);
    const max = niceMax(Math.max(...values));
    const y = (v) => top + (1 - v / max) * (h - top - bottom);

    const from = Math.max(t0, Date.parse(page.from)), end = Math.min(t1, Date.parse(page.to));
    root.append(svg("rect", { x: x(from).toFixed(1), y: top, width: Math.max(1, x(end) - x(from)).toFixed(1), height: h - top - bottom, class: "chart-window" }));

    for (const v of [0, max / 2, max]) {
      root.append(svg("line", { x1: left, x2: w - right, y1: y(v).toFixed(1), y2: y(v).toFixed(1), class: v === 0 ? "chart-axis" : "chart-grid" }));
      const t = svg("text", { x: left - 6, y: (y(v) + 4).toFixed(1), class: "chart-label", "text-anchor": "end" });
      t.textContent = number(v);
      root.append(t);
    }

    // Labels under the axis: every k-th step start, at least 64 pixels
    // apart; hours read as 14:00, or as the date where the day changes;
    // days as dates.
    const stepPx = (w - left - right) / points.length;
    const k = Math.max(1, Math.ceil(64 / stepPx));
    let lastDay = null;
    points.forEach((p, i) => {
      if (i % k !== 0) return;
      const t = new Date(p.time);
      const text = page.step === "1d" || (lastDay && !sameDay(lastDay, t)) ? day.format(t) : clock.format(t);
      lastDay = t;
      const label = svg("text", { x: x(t.getTime()).toFixed(1), y: h - 8, class: "chart-label", "text-anchor": i === 0 ? "start" : "middle" });
      label.textContent = text;
      root.append(svg("line", { x1: x(t.getTime()).toFixed(1), x2: x(t.getTime()).toFixed(1), y1: h - bottom, y2: h - bottom + 4, class: "chart-axis" }));
      root.append(label);
    });

    // Each dot is at the middle of its step's part before the axis's end.
    const xy = points.map((p, i) => [x((Date.parse(p.time) + Math.min(Date.parse(p.end), t1)) / 2), y(values[i])]);
    const d = (pts) => pts.map(([px, py], i) => (i ? "L" : "M") + px.toFixed(1) + " " + py.toFixed(1)).join(" ");
    const drawn = filling && !projected ? xy.slice(0, -1) : xy;
    const base = y(0).toFixed(1);
    if (drawn.length > 0) {
      root.append(svg("path", { d: `${d(drawn)} L${drawn[drawn.length - 1][0].toFixed(1)} ${base} L${drawn[0][0].toFixed(1)} ${base} Z`, class: "chart-area" }));
      root.append(svg("path", { d: d(filling ? xy.slice(0, -1) : xy), class: "chart-line" }));
    }
    if (projected && xy.length > 1) root.append(svg("path", { d: d(xy.slice(-2)), class: "chart-line chart-partial" }));

    if (page.rising_since) {
      const rx = x(Date.parse(page.rising_since)).toFixed(1);
      root.append(svg("line", { x1: rx, x2: rx, y1: top, y2: h - bottom, class: "chart-rising" }));
      // The label goes left of the mark when the right edge is near.
      const leftOf = Number(rx) > w - right - 50;
      const t = svg("text", { x: (Number(rx) + (leftOf ? -4 : 4)).toFixed(1), y: top + 10, class: "chart-label chart-rising-label", "text-anchor": leftOf ? "end" : "start" });
      t.textContent = "rising";
      root.append(t);
    }

    points.forEach((p, i) => {
      const partial = filling && i === points.length - 1;
      const dot = svg("circle", { cx: xy[i][0].toFixed(1), cy: xy[i][1].toFixed(1), r: 3, class: partial ? "chart-point chart-point-partial" : "chart-point" });
      let title = `${when(new Date(p.time), to)}: ${posts(p.count)}, ${accounts(p.accounts)}`;
      if (partial) title += ` so far` + (projected ? `, about ${posts(Math.round(values[i]))} at this pace` : "");
      dot.append(Object.assign(svg("title"), { textContent: title }));
      root.append(dot);
    });
    return root;
  }

  function drawChart() {
    if (!shown) return;
    const box = $("chart");
    box.replaceChildren(chart(shown, box.clientWidth));
  }

  function renderSummary(page) {
    const name = "#" + (page.display || page.tag);
    document.title = `${name} — tagpulse`;
    $("tag-title").textContent = name;
    $("tag-title").title = page.tag;
    $("hidden-note").hidden = !page.hidden;
    // The topics the tag belongs to: named sets of tags the trends page
    // counts as one.
    const topics = page.topics || [];
    $("topics-note").hidden = topics.length === 0;
    $("topics-note").textContent = topics.length === 0 ? "" : (topics.length === 1 ? "In the topic " : "In the topics ") + topics.join(", ");
    $("window-words").textContent = WORDS[view.window];
    const to = new Date(page.to);
    const from = new Date(page.from);
    $("window-range").textContent = `· ${when(from, to)} to ${sameDay(from, to) ? clock.format(to) : when(to, from)}${filterWords()}`;
    $("count").textContent = number(page.count);
    $("count-unit").textContent = page.count === 1 ? "post" : "posts";
    $("count-change").textContent = change(page.count, page.previous.count, posts);
    $("accounts").textContent = number(page.accounts);
    $("accounts-unit").textContent = page.accounts === 1 ? "account" : "accounts";
    $("accounts-change").textContent = change(page.accounts, page.previous.accounts, accounts);
    for (const [id, now, before] of [["count-change", page.count, page.previous.count], ["accounts-change", page.accounts, page.previous.accounts]]) {
      $(id).classList.toggle("up", now > before);
      $(id).classList.toggle("down", now < before);
    }
    concentration(page);
    const rising = $("rising");
    rising.textContent = page.rising_since ? "Rising since " + when(new Date(page.rising_since), to) : "Not rising";
    rising.classList.toggle("up", !!page.rising_since);
    const stepWord = page.step === "1d" ? "day" : "hour";
    $("chart-note").textContent = `Posts per ${stepWord}; the shaded part is ${WORDS[view.window]}. ` +
      "Rising means every " + stepWord + " since is well above the tag's usual level before the window.";
  }

  // concentration says how much of the window's posts the tag's most
  // active account and instance wrote, and how many bots' posts no count
  // holds; a concentrated tag (docs/trends.md, "Floods and bots") is left
  // out of Trending, and the page says so.
  function concentration(page) {
    const pct = (share) => number(Math.round(share * 100)) + "%";
    let text = "";
    if (page.count > 0) {
      text = `Its most active account wrote ${pct(page.top_account_share)} of these posts, ` +
        `its most active instance ${pct(page.top_instance_share)}.`;
    }
    if (page.bot_posts > 0) text += ` ${posts(page.bot_posts)} by bots, not counted.`;
    $("concentration").textContent = text.trim();
    const note = $("concentrated");
    note.hidden = !page.concentrated;
    const one = page.top_account_share >= page.top_instance_share ? "one account" : "one instance";
    note.textContent = `Concentrated: most of these posts come from ${one}, so #${page.display || page.tag} is left out of Trending.`;
  }

  function renderCoTags(page) {
    const list = $("cotags");
    list.replaceChildren(...page.cooccurring.map((c) => {
      const li = el("li", "cotag");
      const a = el("a", "name", "#" + (c.display || c.tag));
      a.href = window.tagpulse.tagHref(c.tag, view);
      a.title = `#${c.display || c.tag}: its page`;
      li.append(a, el("span", "meta", `in ${posts(c.count)}`));
      return li;
    }));
    const sample = page.cooccurring_sample;
    $("cotags-note").textContent = page.count === 0 ? "" : sample < page.count
      ? `Counted among its latest ${posts(sample)} in this window, of ${number(page.count)}.`
      : `Counted among its latest ${posts(sample)} in this window.`;
    const empty = $("cotags-empty");
    empty.hidden = page.cooccurring.length > 0;
    empty.textContent = page.count === 0
      ? "No posts in this window, so no tags used with it."
      : "Its posts in this window carry no other tag.";
  }

  function renderPosts(page) {
    const to = new Date(page.to);
    $("posts").replaceChildren(...page.posts.map((p) => {
      const li = el("li", "post");
      const meta = el("p", "post-meta");
      const t = el("time", "", when(new Date(p.created_at), to));
      t.dateTime = p.created_at;
      meta.append(t);
      for (const [cls, v] of [["author", p.author], ["source", p.source], ["lang", p.lang]]) {
        if (v) meta.append(" · ", el("span", cls, v));
      }
      const href = safeURL(p.url);
      if (href) {
        const a = el("a", "open", "open");
        a.href = href;
        a.rel = "noopener noreferrer nofollow";
        a.title = "Open the post where it was published";
        meta.append(" · ", a);
      }
      li.append(meta, p.excerpt ? el("p", "excerpt", p.excerpt) : el("p", "excerpt missing", "(text not stored)"));
      return li;
    }));
    $("posts-hint").textContent = page.count > 0 ? `· ${number(page.posts.length)} of ${number(page.count)}` : "";
    const empty = $("posts-empty");
    empty.hidden = page.posts.length > 0;
    empty.textContent = `No posts of #${page.display || page.tag} in ${WORDS[view.window]}${filterWords()}.` +
      (page.points.some((p) => p.count > 0) ? " The chart shows when it was last used." : "");
  }

  // links points the address-bound links (back to the trends, the CSV)
  // at the current view.
  function links() {
    $("back").href = window.tagpulse.trendsHref(view);
    $("csv").href = "/api/v1/tags/" + encodeURIComponent(tag) + "?" + window.tagpulse.viewQuery(view) + `&posts=${CSV_POSTS}&format=csv`;
  }

  async function load() {
    const mine = ++generation;
    document.body.setAttribute("aria-busy", "true");
    links();
    try {
      const page = await api("/api/v1/tags/" + encodeURIComponent(tag), Object.assign({ window: view.window }, view.filters));
      if (mine !== generation) return; // a newer load has started
      shown = page;
      renderSummary(page);
      drawChart();
      renderCoTags(page);
      renderPosts(page);
      $("status").textContent = "Updated " + new Date().toLocaleTimeString();
      $("status").classList.remove("error");
    } catch (err) {
      if (mine !== generation) return;
      $("status").textContent = `Could not load #${tag}: ${err.message}.` + (err.status === 400 ? "" : " Retrying in 30 seconds.");
      $("status").classList.add("error");
    } finally {
      if (mine === generation) document.body.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("tag-title").textContent = "#" + tag;
    const restart = window.tagpulse.refresh(load);
    window.tagpulse.pick(view, () => {
      load();
      restart();
    });
    let frame = 0;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(drawChart);
    });
  });
})();
