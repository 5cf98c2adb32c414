// tagpulse page: loads /api/v1/trending, /api/v1/top (of tags, and of
// topics with topics=true) and /api/v1/series and renders the lists with
// sparklines, each tag linking to its own page (tag.js) in the same view;
// a topic lists its tags, each with its own posts and its link. No dependencies beyond shared.js; every
// string from the API goes through textContent, never HTML. It degrades
// per part: a list that fails to load says so in its own panel, a tag
// whose history fails to load says so in its own card; the rest of the
// page stays.
"use strict";

(function () {
  const { WORDS, $, api, number, posts, accounts } = window.tagpulse;
  const LIMIT = 20;
  // Each sparkline shows the window and some history before it, so a rise
  // stands out; the window itself is shaded. The span is a whole number of
  // steps (the API requires it) and 24 to 30 points long. The API aligns
  // steps to whole steps (12-minute marks, hours, days), the last one
  // holding the current minute, so the window overlaps the last
  // ceil(inWindow) + 1 points: those are shaded and called "the window".
  const SPARKS = {
    "15m": { span: "1h", step: "2m", points: 30, inWindow: 7.5 },
    "1h": { span: "6h", step: "12m", points: 30, inWindow: 5 },
    "6h": { span: "24h", step: "1h", points: 24, inWindow: 6 },
    "24h": { span: "7d", step: "6h", points: 28, inWindow: 4 },
    "7d": { span: "28d", step: "1d", points: 28, inWindow: 7 },
    "30d": { span: "90d", step: "3d", points: 30, inWindow: 10 },
  };
  const STEP_WORDS = { "2m": "2 minutes", "12m": "12 minutes", "1h": "hour", "6h": "6 hours", "1d": "day", "3d": "3 days" };
  const SVG = "http://www.w3.org/2000/svg";

  // The window and the filters, as the address gives them; the filters
  // are passed on to the API.
  const view = window.tagpulse.readView();
  let generation = 0;

  function sparkline(points, label) {
    const w = 120, h = 32, pad = 2;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("class", "spark");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    const title = document.createElementNS(SVG, "title");
    title.textContent = label;
    svg.appendChild(title);
    if (!points || points.length === 0) return svg;
    // The last step holds the current minute and is still filling: drawn
    // at its count so far, every line would dip at its right edge and a
    // burst would look as if it were ending. Until half of it has passed
    // it is left out (a few early posts say little about the step); after
    // that it is drawn at the rate so far over the whole step, dashed, with
    // a hollow dot: a projection, not a count.
    const last = points[points.length - 1];
    const start = Date.parse(last.time), end = Date.parse(last.end);
    const filled = end > start ? Math.min(1, Math.max(0, (Date.now() - start) / (end - start))) : 1;
    if (points.length > 1 && filled < 0.5) points = points.slice(0, -1);
    const values = points.map((p) => p.count);
    const partial = points.length > 1 && filled >= 0.5 && filled < 1;
    if (partial) values[values.length - 1] = last.count / filled;
    const max = Math.max(1, ...values);
    const dx = points.length > 1 ? (w - 2 * pad) / (points.length - 1) : 0;
    const inWindow = windowPoints();
    const now = document.createElementNS(SVG, "rect");
    const x0 = Math.max(0, pad + (points.length - inWindow - 0.5) * dx);
    now.setAttribute("x", x0.toFixed(1));
    now.setAttribute("y", "0");
    now.setAttribute("width", (w - x0).toFixed(1));
    now.setAttribute("height", String(h));
    now.setAttribute("class", "spark-now");
    svg.appendChild(now);
    const xy = values.map((v, i) => [pad + i * dx, h - pad - (v / max) * (h - 2 * pad)]);
    const d = (pts) => pts.map(([x, y], i) => (i ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1)).join(" ");
    const line = d(xy);
    const area = document.createElementNS(SVG, "path");
    area.setAttribute("d", `${line} L${xy[xy.length - 1][0].toFixed(1)} ${h - pad} L${pad} ${h - pad} Z`);
    area.setAttribute("class", "spark-area");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d(partial ? xy.slice(0, -1) : xy));
    path.setAttribute("class", "spark-line");
    svg.append(area, path);
    if (partial) {
      const rest = document.createElementNS(SVG, "path");
      rest.setAttribute("d", d(xy.slice(-2)));
      rest.setAttribute("class", "spark-line spark-partial");
      svg.append(rest);
    }
    const [lx, ly] = xy[xy.length - 1];
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", lx.toFixed(1));
    dot.setAttribute("cy", ly.toFixed(1));
    dot.setAttribute("r", "2.5");
    dot.setAttribute("class", partial ? "spark-dot spark-dot-partial" : "spark-dot");
    svg.append(dot);
    return svg;
  }

  // windowPoints is how many of a sparkline's last points the window
  // overlaps.
  function windowPoints() { return Math.ceil(SPARKS[view.window].inWindow) + 1; }

  // nameOf is how the page names a row: a topic by its name, a tag as
  // #display.
  function nameOf(item) { return item.topic ? item.topic : "#" + item.display; }

  function sparkLabel(item, series) {
    const spark = SPARKS[view.window];
    if (!series) return `${nameOf(item)}: no history`;
    const counts = series.points.map((p) => p.count);
    const before = counts.slice(0, counts.length - windowPoints());
    const peak = (xs) => number(Math.max(0, ...xs));
    return `${nameOf(item)} per ${STEP_WORDS[spark.step]} over ${WORDS[spark.span]}: ` +
      `peak ${peak(counts.slice(-windowPoints()))} in ${WORDS[view.window]}, ${peak(before)} before; ` +
      `the step still filling is drawn dashed at its rate so far once half of it has passed`;
  }

  // historyNote says when the trending scores rest on fewer earlier
  // windows than they compare with (a fresh import): every tag then looks
  // new and Trending repeats Top.
  function historyNote(trending) {
    const note = $("trending-history");
    const short = trending.length > 0 && trending[0].enough_history === false;
    note.hidden = !short;
    if (short) {
      note.textContent = `Not enough history yet: the stored posts cover ${trending[0].history_windows} of the 24 earlier ` +
        `windows the score compares with, so every tag looks new and this list repeats Top.`;
    }
  }

  // sparkError stands where a card's sparkline would: its history could
  // not be loaded, and only that card says so.
  function sparkError(item, message) {
    const e = document.createElement("span");
    e.className = "spark spark-error";
    e.setAttribute("role", "note");
    e.textContent = "history unavailable";
    e.title = `${nameOf(item)}: ${message}`;
    return e;
  }

  function render(listId, items, series, detail) {
    const list = $(listId);
    const rows = items.map((item, i) => {
      const li = document.createElement("li");
      li.className = "tag";
      const rank = document.createElement("span");
      rank.className = "rank";
      rank.textContent = String(i + 1);
      rank.setAttribute("aria-hidden", "true");
      const main = document.createElement("div");
      main.className = "who";
      // A tag's name links to its page, in the same window and filters; a
      // topic's name is plain, and its tags below link to theirs.
      const name = document.createElement(item.topic ? "span" : "a");
      name.className = "name";
      name.textContent = nameOf(item);
      if (!item.topic) {
        name.href = window.tagpulse.tagHref(item.tag, view);
        name.title = `#${item.display}: its page (posts, chart, tags used with it)`;
      }
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = detail(item);
      main.append(name, meta);
      if (item.members) main.append(members(item));
      const one = series.get(item.topic || item.tag);
      li.append(rank, main, one instanceof Error ? sparkError(item, one.message)
        : sparkline(one && one.points, sparkLabel(item, one)));
      return li;
    });
    list.replaceChildren(...rows);
    $(listId + "-empty").hidden = items.length > 0;
    $(listId + "-error").hidden = true;
  }

  // members lists a topic's tags, each with its own posts in the window and
  // a link to its page: a post with two of them counts in both, so they
  // need not add up to the topic's count.
  function members(item) {
    const span = document.createElement("span");
    span.className = "meta members";
    item.members.forEach((m, i) => {
      if (i > 0) span.append(", ");
      const a = document.createElement("a");
      a.href = window.tagpulse.tagHref(m.tag, view);
      a.textContent = "#" + m.tag;
      a.title = `#${m.tag}: ${posts(m.count)} of its own in the window`;
      span.append(a, " " + number(m.count));
    });
    return span;
  }

  // failList shows, in its own panel only, that a list could not be
  // loaded; the other panel keeps what it shows.
  function failList(listId, err) {
    const e = $(listId + "-error");
    e.textContent = "Could not load this list: " + err.message + ". Retrying in 30 seconds.";
    e.hidden = false;
  }

  // loadSeries returns a map from tag (or topic, when kind is "topic") to
  // its series, or to the Error that kept it from loading. One call asks
  // for every tag; when the API refuses it (400: one tag it refuses is
  // enough), each tag is asked for alone, so one bad tag costs its own card
  // its sparkline and nothing more.
  async function loadSeries(tags, w, kind = "tag") {
    const series = new Map();
    if (tags.length === 0) return series;
    const q = (t) => Object.assign({ [kind]: t, window: SPARKS[w].span, step: SPARKS[w].step }, view.filters);
    try {
      for (const one of await api("/api/v1/series", q(tags))) series.set(one[kind], one);
      return series;
    } catch (err) {
      if (err.status !== 400) {
        // The server is busy or down: asking once per tag would only add
        // load. Every card says it has no history this time.
        for (const t of tags) series.set(t, err);
        return series;
      }
      const each = await Promise.allSettled(tags.map((t) => api("/api/v1/series", q([t]))));
      each.forEach((r, i) => {
        if (r.status === "fulfilled" && r.value.length > 0) series.set(tags[i], r.value[0]);
        else if (r.status === "rejected") series.set(tags[i], r.reason);
      });
      return series;
    }
  }

  async function load() {
    const mine = ++generation;
    const w = view.window;
    document.body.setAttribute("aria-busy", "true");
    try {
      const q = Object.assign({ window: w, limit: LIMIT }, view.filters);
      // Two questions at a time at most, so that a load started while the
      // last one still runs stays within the server's queries in flight
      // (--api-max-in-flight, 4 by default): the lists, then the tags'
      // history beside the topics, then the topics' history.
      const [trending, top] = await Promise.allSettled([api("/api/v1/trending", q), api("/api/v1/top", q)]);
      const ok = [trending, top].filter((r) => r.status === "fulfilled").map((r) => r.value);
      const tags = [...new Set(ok.flat().map((t) => t.tag))];
      const [series, topics] = await Promise.all([loadSeries(tags, w),
        api("/api/v1/top", Object.assign({ topics: "true" }, q)).then((value) => ({ status: "fulfilled", value }), (reason) => ({ status: "rejected", reason }))]);
      const names = topics.status === "fulfilled" ? topics.value.map((t) => t.topic) : [];
      const topicSeries = await loadSeries(names, w, "topic");
      if (mine !== generation) return; // a newer load has started
      if (trending.status === "fulfilled") {
        render("trending", trending.value, series, (t) => `${posts(t.count)} · ${accounts(t.accounts)} · expected ${number(t.expected)} ${t.by || "accounts"} · score ${number(t.score)}`);
      } else {
        failList("trending", trending.reason);
      }
      if (top.status === "fulfilled") render("top", top.value, series, (t) => `${posts(t.count)} · ${accounts(t.accounts)}`);
      else failList("top", top.reason);
      if (topics.status === "fulfilled") render("topics", topics.value, topicSeries, (t) => `${posts(t.count)} · ${accounts(t.accounts)}`);
      else failList("topics", topics.reason);
      historyNote(trending.status === "fulfilled" ? trending.value : []);
      $("trending-hint").textContent = $("top-hint").textContent = $("topics-hint").textContent = "· " + WORDS[w];
      if (ok.length === 0) throw trending.reason;
      $("status").textContent = "Updated " + new Date().toLocaleTimeString();
      $("status").classList.remove("error");
    } catch (err) {
      if (mine !== generation) return;
      $("status").textContent = "Could not load trends: " + err.message + ". Retrying in 30 seconds.";
      $("status").classList.add("error");
    } finally {
      if (mine === generation) document.body.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const restart = window.tagpulse.refresh(load);
    window.tagpulse.pick(view, () => {
      load();
      restart();
    });
  });
})();
