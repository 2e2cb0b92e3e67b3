// Lightbox live camera: getUserMedia -> small square JPEG frames -> setTriggerValue("frame"), one in flight.
// The server answers through `data` (ack, bars, note, heat; `drawn` counts its runs, `presenter` enlarges the
// text); a new `data` re-invokes this function on the same DOM, so the stream and its state live on the root
// element and survive every answer. Its lists and dicts (ack, bars, thumbs) come packed in one JSON text,
// `data.json`: Streamlit would look for a dataframe in each (dashboard/camera.py, element_data).

const MESSAGES = {
  NotAllowedError: "The browser may not use the camera here. Allow it (the camera icon in the address bar) and press Restart, or upload a photo instead.",
  SecurityError: "The browser may not use the camera here. Allow it (the camera icon in the address bar) and press Restart, or upload a photo instead.",
  NotFoundError: "No camera found. Plug one in and press Restart, or upload a photo instead.",
  OverconstrainedError: "No camera found. Plug one in and press Restart, or upload a photo instead.",
  NotReadableError: "The camera is busy in another app or tab. Close that, then press Restart.",
  insecure: "The camera only works on a secure page (https:// or localhost). Upload a photo instead.",
  ended: "The camera stopped (unplugged or switched off). Press Restart when it is back.",
  timeout: "The camera did not start. Press Restart, or upload a photo instead.",
};
const NO_CAMERA = new Set(["NotFoundError", "OverconstrainedError", "insecure", "NotAllowedError", "SecurityError"]);
const ANSWER_TIMEOUT_MS = 3000; // a frame whose answer never came stops blocking the next one after this...
const PASSED_OVER_MS = 300; // ...or this long after the server drew the element without answering it

function usualLatency(s) {
  const recent = s.latencies.slice(-10).sort((a, b) => a - b);
  return recent[recent.length >> 1] || 0;
}

function answerTimeout(s) { // ...or after three times the usual round trip, on a slow server
  return Math.max(ANSWER_TIMEOUT_MS, 3 * usualLatency(s));
}

// A frame whose answer will never come: the timeout passed, or the server drew the element (a rerun of the
// whole page, say) and then let a round trip go by without answering it. Streamlit drops a fragment rerun
// that is waiting when a widget outside the fragment reruns the page, and the frame goes with it.
function givenUp(s, now) {
  const f = s.inflight;
  if (now - f.at >= answerTimeout(s)) return true;
  return f.passedAt !== undefined && now - f.passedAt >= Math.max(PASSED_OVER_MS, 1.5 * usualLatency(s));
}

function el(root, name) {
  return root.querySelector(`[data-part="${name}"]`);
}

function say(s, text) {
  const note = el(s.root, "message");
  note.textContent = text || "";
  note.hidden = !text;
}

function stopTracks(s) {
  if (s.stream) s.stream.getTracks().forEach((t) => { t.onended = null; t.stop(); });
  s.stream = null;
  el(s.root, "video").srcObject = null;
}

async function start(s) {
  stopTracks(s);
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    fail(s, "insecure");
    return;
  }
  say(s, "Starting the camera...");
  s.root.dataset.state = "opening";
  const startedFor = ++s.starts;
  const watchdog = setTimeout(() => { if (s.starts === startedFor && !s.stream) fail(s, "timeout"); }, 15000);
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: s.facing }, width: { ideal: 640 }, height: { ideal: 480 } },
    });
    clearTimeout(watchdog);
    if (s.starts !== startedFor || s.stopped) { stream.getTracks().forEach((t) => t.stop()); return; }
    s.stream = stream;
    const track = stream.getVideoTracks()[0];
    track.onended = () => { if (s.stream === stream) fail(s, "ended"); };
    const video = el(s.root, "video");
    video.srcObject = stream;
    video.classList.toggle("mirror", (track.getSettings().facingMode || s.facing) === "user");
    await video.play().catch(() => {});
    say(s, "");
    s.root.dataset.state = "live";
    s.report("live");
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    el(s.root, "flip").hidden = devices.filter((d) => d.kind === "videoinput").length < 2;
  } catch (err) {
    clearTimeout(watchdog);
    if (s.starts === startedFor) fail(s, err && err.name in MESSAGES ? err.name : "NotFoundError");
  }
}

// A camera belongs to the page it is drawn on. A frame sent after the visitor clicked a link to another page
// names the old page: Streamlit runs it after the new page's run, finds the old page's camera gone, and the
// browser then clears the new page as well (a blank page, 3 sidebar clicks in 20 from Teach on a busy server).
// Streamlit changes the address only once the new page's run has begun, so the click is the first sign of
// leaving: from then a camera sends nothing and stops. A click that opened no page here (a new tab) is
// forgotten after LEAVING_MS; the next page that draws a camera starts it again.
// A frame handed over just before the click may not be sent yet: Streamlit sends what setTriggerValue gets in a
// later task (a timer of 0 ms, which the browser stretches to 4 ms inside a chain of timers, as the camera's
// ticks are), after the page change that the click sends at once (a blank page, 3 clicks in 109 on a busy
// server). Such a click is held back HOLD_MS and made again: the frame goes out first.
const LEAVING_MS = 5000;
const HOLD_MS = 20;
let leaving = { from: null, at: 0 };
let handedAt = -Infinity; // when a frame (or report) was last given to Streamlit, which may not have sent it yet
let replaying = false;

function handOver(send) {
  handedAt = performance.now();
  send();
}

document.addEventListener("click", (e) => { // capture: before Streamlit's own handler sends the page change
  const link = e.target instanceof Element ? e.target.closest("a[href]") : null;
  if (!link || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || link.target === "_blank") return;
  const to = new URL(link.href, location.href);
  if (to.origin === location.origin && to.pathname !== location.pathname) {
    leaving = { from: location.pathname, at: performance.now() };
    if (performance.now() - handedAt < HOLD_MS && !replaying) {
      e.preventDefault();
      e.stopImmediatePropagation();
      setTimeout(() => { // the same link, or the one that replaced it if the page redrew it meanwhile
        const same = (a) => a.href === link.href;
        const again = link.isConnected ? link : [...document.querySelectorAll("a[href]")].find(same);
        replaying = true;
        try { if (again) again.click(); } finally { replaying = false; }
      }, HOLD_MS);
    }
  }
}, true);

function onItsPage(s) {
  const left = leaving.from === s.page && performance.now() - leaving.at < LEAVING_MS;
  return location.pathname === s.page && !left;
}

// The camera runs only while its element is on screen: a hidden browser tab, another Streamlit tab or a
// collapsed section turns it off (no frames sent, the camera light goes out), showing it again restarts it.
function watch(s) {
  if (!s.root.isConnected) { shutdown(s); return; }
  const wanted = onItsPage(s) && !document.hidden && s.root.getClientRects().length > 0;
  const state = s.root.dataset.state;
  if (!wanted && (state === "live" || state === "opening")) {
    s.starts += 1; // a start under way is dropped when it resolves
    stopTracks(s);
    s.root.dataset.state = "away";
  } else if (wanted && (state === "away" || state === "idle")) {
    start(s);
  }
  tick(s);
}

function fail(s, reason) {
  stopTracks(s);
  s.root.dataset.state = reason;
  say(s, MESSAGES[reason] || MESSAGES.NotFoundError);
  s.report(NO_CAMERA.has(reason) ? "none" : reason);
}

function grab(s) {
  const video = el(s.root, "video");
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h || video.readyState < 2) return null;
  const side = Math.min(w, h);
  const canvas = s.canvas;
  canvas.width = canvas.height = s.size;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(video, (w - side) / 2, (h - side) / 2, side, side, 0, 0, s.size, s.size);
  return canvas.toDataURL("image/jpeg", 0.85).split(",", 2)[1];
}

function tick(s) {
  const now = performance.now();
  if (s.stopped || !s.stream || s.paused || document.hidden || !onItsPage(s)) return;
  if (s.inflight && !givenUp(s, now)) return; // wait for the answer: never queue
  if (now - s.lastSent < 1000 / s.fps) return;
  const jpeg = grab(s);
  if (!jpeg) return;
  if (s.inflight) s.root.dataset.lost = String(++s.lost);
  s.seq += 1;
  s.lastSent = now;
  s.inflight = { seq: s.seq, at: now };
  s.send("frame", { stream: s.id, seq: s.seq, jpeg, hold: s.holding, still: false });
}

function answered(s, ack) {
  if (!s.inflight) return;
  if (!ack || ack.stream !== s.id || ack.seq < s.inflight.seq) { // drawn, but not this frame's answer (yet)
    if (s.inflight.passedAt === undefined) s.inflight.passedAt = performance.now();
    return;
  }
  const ms = performance.now() - s.inflight.at;
  s.inflight = null;
  s.latencies.push(ms);
  if (s.latencies.length > 200) s.latencies.shift();
  s.answers += 1;
  const d = s.root.dataset;
  d.answers = String(s.answers);
  d.latencyMs = ms.toFixed(1);
  d.firstAnswerAt = d.firstAnswerAt || String(Date.now());
  setTimeout(() => tick(s), 0); // the next frame as soon as the pace allows
}

function drawBars(s, bars) {
  const box = el(s.root, "bars");
  while (box.children.length > bars.length) box.lastChild.remove();
  while (box.children.length < bars.length) {
    const row = document.createElement("div");
    row.className = "bar";
    row.innerHTML = '<div class="label"></div><div class="track"><div class="fill"></div></div><div class="pct"></div>';
    box.appendChild(row);
  }
  bars.forEach(([label, p], i) => {
    const row = box.children[i];
    row.querySelector(".label").textContent = label; // text, never markup
    row.querySelector(".fill").style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
    row.querySelector(".pct").textContent = `${Math.round(p * 100)}%`;
    row.classList.toggle("top", i === 0);
  });
  s.root.dataset.top = bars.length ? bars[0][0] : "";
}

// The recorded examples' thumbnails come with every answer; pictures that did not change are kept, not decoded
// again (up to 8 per answer, 6 answers a second while recording).
function drawShelf(shelf, thumbs) {
  while (shelf.children.length > thumbs.length) shelf.lastChild.remove();
  thumbs.forEach((src, i) => {
    const img = shelf.children[i] || shelf.appendChild(document.createElement("img"));
    if (img.getAttribute("src") !== src) img.src = src;
  });
}

function render(s, data) {
  s.root.classList.toggle("presenter", Boolean(data.presenter));
  if (Array.isArray(data.bars)) drawBars(s, data.bars);
  const head = el(s.root, "headline");
  head.textContent = data.headline || "";
  el(s.root, "note").textContent = data.note || "";
  const heat = el(s.root, "heat");
  heat.hidden = !data.heat;
  if (data.heat && heat.getAttribute("src") !== data.heat) heat.src = data.heat;
  const hold = el(s.root, "hold");
  hold.hidden = !data.hold_label;
  hold.textContent = data.hold_label || "";
  drawShelf(el(s.root, "shelf"), data.thumbs || []);
  answered(s, data.ack);
}

function setPaused(s, paused) {
  s.paused = paused;
  const video = el(s.root, "video");
  el(s.root, "pause").textContent = paused ? "▶ Go on" : "❚❚ Freeze";
  el(s.root, "explain").hidden = !paused;
  if (paused) {
    video.pause();
    const jpeg = s.stream ? grab(s) : null; // the frozen picture is the one answered and explained
    if (jpeg) {
      s.seq += 1;
      s.inflight = { seq: s.seq, at: performance.now() };
      s.send("frame", { stream: s.id, seq: s.seq, jpeg, hold: false, still: true });
    }
  } else {
    video.play().catch(() => {});
  }
}

function setup(root, data) {
  const s = {
    root, id: Math.random().toString(36).slice(2), seq: 0, inflight: null, lastSent: 0, answers: 0, lost: 0,
    latencies: [], paused: false, holding: false, stopped: false, stream: null, starts: 0,
    facing: data.facing || "user", size: data.size || 224, fps: data.fps || 8,
    canvas: document.createElement("canvas"), send: () => false, reported: null,
  };
  s.report = (state) => { if (state !== s.reported && s.send("status", state)) s.reported = state; };
  root.__lightbox = s;
  el(root, "pause").onclick = () => setPaused(s, !s.paused);
  el(root, "restart").onclick = () => { setPaused(s, false); start(s); };
  el(root, "flip").onclick = () => { s.facing = s.facing === "user" ? "environment" : "user"; start(s); };
  el(root, "explain").onclick = () => s.send("explain", { stream: s.id, seq: s.seq });
  const hold = el(root, "hold");
  const press = (e) => {
    e.preventDefault();
    if (s.paused) setPaused(s, false);
    s.holding = true;
    hold.classList.add("pressed");
    try { hold.setPointerCapture(e.pointerId); } catch (_) { /* a synthetic event has no pointer */ }
  };
  const release = () => {
    if (!s.holding) return;
    s.holding = false;
    hold.classList.remove("pressed");
    s.send("release", { stream: s.id, seq: s.seq });
  };
  hold.addEventListener("pointerdown", press);
  ["pointerup", "pointercancel", "lostpointercapture"].forEach((n) => hold.addEventListener(n, release));
  hold.addEventListener("contextmenu", (e) => e.preventDefault()); // a long touch is a hold, not a menu
  s.onVisibility = () => watch(s);
  document.addEventListener("visibilitychange", s.onVisibility);
  root.dataset.state = "idle";
  s.timer = setInterval(() => watch(s), 40);
  watch(s);
  return s;
}

function shutdown(s) {
  s.stopped = true;
  clearInterval(s.timer);
  document.removeEventListener("visibilitychange", s.onVisibility);
  stopTracks(s);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".lightbox-camera");
  const opts = data && data.json ? { ...data, ...JSON.parse(data.json) } : data || {};
  const s = root.__lightbox || setup(root, opts);
  if (opts.key !== s.key || s.page === undefined) { // a camera drawn by this page's run: its page is this address
    s.key = opts.key;
    s.page = location.pathname;
    leaving = { from: null, at: 0 };
  }
  s.send = (event, value) => onItsPage(s) && (handOver(() => setTriggerValue(event, value)), true);
  s.gen = (s.gen || 0) + 1;
  const gen = s.gen;
  if (opts.fps) s.fps = opts.fps;
  render(s, opts);
  // Streamlit calls only the newest cleanup, and only when the element goes; a re-invocation that was
  // overtaken may call its own at once, so stop only if no newer invocation came.
  return () => setTimeout(() => { if (s.gen === gen) shutdown(s); }, 300);
}
