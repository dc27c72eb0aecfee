// jzfs web UI: progressive enhancement only (every page works without it). No dependencies.
"use strict";
document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button.copy");
  if (!b) return;
  const text = b.dataset.copy;
  const done = () => { b.classList.add("done"); b.textContent = "✓"; setTimeout(() => { b.classList.remove("done"); b.textContent = "copy"; }, 1200); };
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, () => {}); return; }
  const ta = document.createElement("textarea"); ta.value = text; document.body.appendChild(ta); ta.select();
  try { document.execCommand("copy"); done(); } finally { ta.remove(); }
});

function rate(n) { const u = ["B/s", "KiB/s", "MiB/s", "GiB/s"]; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++; } return n.toFixed(i ? 1 : 0) + " " + u[i]; }

const bw = document.getElementById("bw");
if (bw) {
  const pts = []; let last = null; const N = 60;
  const draw = () => {
    const max = Math.max(1024, ...pts.map(p => Math.max(p.i, p.o)));
    for (const [cls, key] of [["in", "i"], ["out", "o"]]) {
      bw.querySelector("polyline." + cls).setAttribute("points",
        pts.map((p, k) => `${(k * 600 / (N - 1)).toFixed(1)},${(118 - 116 * p[key] / max).toFixed(1)}`).join(" "));
    }
  };
  const poll = async () => {
    try {
      const s = await (await fetch(bw.dataset.src, { credentials: "same-origin" })).json();
      if (last) {
        const dt = Math.max(0.001, s.t - last.t);
        pts.push({ i: (s.in - last.in) / dt, o: (s.out - last.out) / dt });
        if (pts.length > N) pts.shift();
        document.getElementById("bw-in").textContent = rate(pts[pts.length - 1].i);
        document.getElementById("bw-out").textContent = rate(pts[pts.length - 1].o);
        draw();
      }
      last = s;
    } catch (e) { /* daemon gone: keep the last graph */ }
  };
  poll(); setInterval(poll, 2000);
}

const rs = document.getElementById("repo-size");
if (rs) {
  fetch(rs.dataset.src, { credentials: "same-origin" }).then(r => r.json()).then(s => {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let n = s.RepoSize, i = 0; while (n >= 1024 && i < 4) { n /= 1024; i++; }
    rs.textContent = `${n.toFixed(i ? 1 : 0)} ${u[i]} in ${s.NumObjects} blocks`;
  }).catch(() => { rs.textContent = "?"; });
}
