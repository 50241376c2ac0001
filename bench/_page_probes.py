"""In-page scripts that bench/frontend.py runs in Chromium: the first-paint probe (an init
script), hover, scroll and zoom/sort loops, and the instrumented call that replaces the
``vegaEmbed`` call in an Altair page. Each loop returns plain numbers from ``performance.now()``.
"""

ROOT_SELECTOR = "[data-testid=th-root]"

INIT_SCRIPT = """
(() => {
  const bench = (window.__thBench = { parseMs: 0 });
  // when the front-end script has been compiled and its top level has run
  let api;
  Object.defineProperty(window, "tokenheat", {
    configurable: true,
    get: () => api,
    set: (v) => { api = v; if (bench.defined === undefined) bench.defined = performance.now(); },
  });
  const parse = JSON.parse;
  JSON.parse = function (text, ...rest) {
    const t0 = performance.now();
    const out = parse.call(this, text, ...rest);
    if (typeof text === "string" && text.length > 10000) bench.parseMs += performance.now() - t0;
    return out;
  };
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const out = draw.apply(this, args);
    const id = (this.canvas && this.canvas.dataset && this.canvas.dataset.testid) || "";
    if (bench.firstDraw === undefined && id.startsWith("th-canvas")) {
      bench.firstDraw = performance.now();
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => { bench.firstFrame = performance.now(); };
        ch.port2.postMessage(0);
      });
    }
    return out;
  };
})();
"""

# One animation frame later, after that frame's rendering steps (rAF, then a message).
FRAME_JS = """() => new Promise((resolve) => requestAnimationFrame(() => {
  const ch = new MessageChannel();
  ch.port1.onmessage = () => resolve(performance.now());
  ch.port2.postMessage(0);
}))"""

HOVER_JS = f"""async (count) => {{
  const frame = {FRAME_JS};
  const handle = document.querySelector("{ROOT_SELECTOR}").__tokenheat;
  const tip = document.querySelector("[data-testid=th-tooltip]");
  const st = handle.state().matrices[0];
  const rows = Math.max(1, Math.floor(st.viewH / st.cellH) - 1);
  const cols = Math.max(1, Math.floor(st.viewW / st.cellW) - 1);
  let seed = 12345;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out = [];
  for (let i = 0; i < count; i++) {{
    const r = Math.floor(rand() * rows), c = Math.floor(rand() * cols);
    const rect = handle.cellRect(0, r, c);
    const x = rect.x + rect.w / 2, y = rect.y + rect.h / 2;
    const target = document.elementFromPoint(x, y);
    let done;
    const updated = new Promise((resolve) => (done = resolve));
    const mo = new MutationObserver(() => done(performance.now()));
    mo.observe(tip, {{ childList: true, subtree: true, characterData: true }});
    const t0 = performance.now();
    target.dispatchEvent(new PointerEvent("pointermove",
      {{ clientX: x, clientY: y, bubbles: true, pointerType: "mouse" }}));
    const tSync = performance.now();
    const tText = await updated;
    mo.disconnect();
    const dd = Array.from(tip.querySelectorAll("dd"), (e) => e.textContent);
    const tFrame = await frame();
    out.push({{ sync: tSync - t0, text: tText - t0, frame: tFrame - t0,
                ok: !tip.hidden && dd[0] === String(r) && dd[1] === String(c) }});
  }}
  return out;
}}"""

SCROLL_JS = f"""async (steps) => {{
  const frame = {FRAME_JS};
  const handle = document.querySelector("{ROOT_SELECTOR}").__tokenheat;
  const sc = document.querySelector("[data-testid=th-scroller-0]");
  const maxY = sc.scrollHeight - sc.clientHeight, maxX = sc.scrollWidth - sc.clientWidth;
  const out = [];
  for (let i = 0; i < steps; i++) {{
    await frame();
    const t0 = performance.now();
    sc.scrollTop = maxY * ((i * 7 + 3) % steps) / steps;
    sc.scrollLeft = maxX * ((i * 5 + 1) % steps) / steps;
    sc.dispatchEvent(new Event("scroll"));
    const t1 = performance.now();
    out.push({{ sync: t1 - t0, draw: handle.state().matrices[0].drawMs,
                frame: (await frame()) - t0 }});
  }}
  return out;
}}"""

ACTIONS_JS = f"""async (rounds) => {{
  const frame = {FRAME_JS};
  const handle = document.querySelector("{ROOT_SELECTOR}").__tokenheat;
  const q = (id) => document.querySelector(`[data-testid=${{id}}]`);
  const sc = q("th-scroller-0");
  const sort = q("th-sort-0");
  const setSort = (mode) => {{ sort.value = mode; sort.dispatchEvent(new Event("change")); }};
  const wheel = () => {{
    const b = sc.getBoundingClientRect();
    sc.dispatchEvent(new WheelEvent("wheel", {{ deltaY: -120, ctrlKey: true, bubbles: true,
      cancelable: true, clientX: b.left + b.width / 2, clientY: b.top + b.height / 2 }}));
  }};
  const actions = [
    ["zoom in (+)", () => q("th-zoom-in-0").click()],
    ["zoom in (ctrl + wheel)", wheel],
    ["zoom out (−)", () => q("th-zoom-out-0").click()],
    ["fit (whole matrix)", () => q("th-zoom-fit-0").click()],
    ["zoom in from fit (+)", () => q("th-zoom-in-0").click()],
    ["sort rows by mean (rebuilds the image)", () => setSort("mean")],
    ["sort rows back to original", () => setSort("original")],
  ];
  const out = [];
  for (let k = 0; k < rounds; k++) {{
    for (const [name, act] of actions) {{
      await frame();
      const t0 = performance.now();
      act();
      const t1 = performance.now();
      const st = handle.state().matrices[0];
      out.push({{ name, sync: t1 - t0, draw: st.drawMs, build: st.buildMs,
                  frame: (await frame()) - t0 }});
    }}
  }}
  return out;
}}"""

VL_CALL = "vegaEmbed('#vis', spec, embedOpt).catch(console.error);"
VL_INSTRUMENTED = """window.__vl = { start: performance.now() };
  vegaEmbed('#vis', spec, embedOpt)
    .then((res) => res.view.runAsync())
    .then(() => {
      window.__vl.drawn = performance.now();
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => { window.__vl.frame = performance.now(); };
        ch.port2.postMessage(0);
      });
    }, (e) => { window.__vl.error = String(e); });"""
