/**
 * @module
 * The dashboard's only stylesheet and script, served by the UI app itself (no CDN, no build step). Both are
 * versioned by a hash of their text, so browsers may cache them for a year.
 */

/**
 * Status colours. Each status also has a text label and, for SKIPPED and CANCELLED, a distinct border
 * (dashed, dotted; PAUSED badges a double one), so colour is never the only signal. Text colours meet WCAG
 * AA on their fills.
 */
const STATUS_CSS = `
.s-not-started,.s-pending{--fill:#f8fafc;--stroke:#94a3b8;--ink:#334155}
.s-running{--fill:#dbeafe;--stroke:#2563eb;--ink:#1e3a8a}
.s-retrying{--fill:#fef3c7;--stroke:#d97706;--ink:#78350f}
.s-paused{--fill:#ffedd5;--stroke:#c2410c;--ink:#7c2d12}
.s-completed{--fill:#dcfce7;--stroke:#16a34a;--ink:#14532d}
.s-failed{--fill:#fee2e2;--stroke:#dc2626;--ink:#7f1d1d}
.s-skipped{--fill:#f1f5f9;--stroke:#64748b;--ink:#334155;--dash:6 4}
.s-cancelled{--fill:#f3e8ff;--stroke:#7e22ce;--ink:#581c87;--dash:2 3}
`

/** The dashboard stylesheet: mobile first, readable from 375 px. */
export const UI_CSS = `
*,*::before,*::after{box-sizing:border-box}
:root{--bg:#fff;--fg:#0f172a;--muted:#475569;--line:#e2e8f0;--accent:#1d4ed8;--panel:#f8fafc;color-scheme:light}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.skip{position:absolute;left:-9999px;top:0;background:var(--fg);color:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:0}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.5rem 1rem;border-bottom:1px solid var(--line);background:var(--panel)}
header.top .brand{font-weight:700;color:var(--fg);text-decoration:none;margin-right:auto}
header.top nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
header.top nav a{text-decoration:none;font-weight:600;padding:.25rem 0}
header.top nav a[aria-current=page]{border-bottom:3px solid var(--accent)}
main{padding:1rem;max-width:72rem;margin:0 auto}
h1{font-size:1.5rem;margin:.25rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:1.75rem 0 .5rem}
h3{font-size:1rem;margin:1rem 0 .25rem}
footer{padding:1rem;color:var(--muted);font-size:.85rem;text-align:center}
button,.button{font:inherit;font-weight:600;padding:.45rem .9rem;border-radius:.4rem;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block;min-height:2.5rem}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger{background:#b91c1c;border-color:#b91c1c}
label{font-weight:600;display:block;margin-bottom:.2rem}
input,select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid #94a3b8;border-radius:.35rem;max-width:100%;background:#fff;color:var(--fg)}
textarea{width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem}
[aria-invalid=true]{border-color:#dc2626;border-width:2px}
.hint{color:var(--muted);font-size:.9rem;margin:.2rem 0}
.error-box{border:2px solid #dc2626;background:#fef2f2;border-radius:.4rem;padding:.5rem .75rem;margin:.5rem 0}
.error-box h2,.error-box h3{margin-top:0}
.notice{border:1px solid var(--line);background:var(--panel);border-radius:.4rem;padding:.75rem 1rem}
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end;margin-bottom:1rem}
.filters div{min-width:9rem;flex:1 1 9rem}
.filters select,.filters input{width:100%}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.abs{display:block;color:var(--muted);font-size:.8rem}
.late{color:#b91c1c;font-weight:700}
.muted{color:var(--muted)}
pre{background:var(--panel);border:1px solid var(--line);border-radius:.4rem;padding:.75rem;overflow:auto;max-height:28rem;font-size:.85rem;margin:.25rem 0 .75rem;white-space:pre}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{font-weight:600;color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-flex;align-items:center;gap:.3em;font-size:.78rem;font-weight:700;letter-spacing:.02em;padding:.1rem .5rem;border-radius:999px;background:var(--fill);color:var(--ink);border:1px solid var(--stroke);white-space:nowrap}
.badge.s-skipped,.badge.s-cancelled{border-style:dashed}
.badge.s-paused{border-style:double;border-width:3px}
.badge.version-wait{background:#fef3c7;color:#78350f;border:2px dashed #b45309}
.notice.warn{border:2px solid #b45309;background:#fffbeb;overflow-wrap:anywhere}
table.versions td{overflow-wrap:anywhere}
progress{-webkit-appearance:none;appearance:none;width:6rem;height:.55rem;vertical-align:middle;border:0;border-radius:999px;background:#e2e8f0;overflow:hidden}
progress::-webkit-progress-bar{background:#e2e8f0;border-radius:999px}
progress::-webkit-progress-value{background:#2563eb;border-radius:999px}
progress::-moz-progress-bar{background:#2563eb;border-radius:999px}
.progress{white-space:nowrap;font-variant-numeric:tabular-nums}
.pager{display:flex;gap:1rem;margin:1rem 0;flex-wrap:wrap}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;margin:.75rem 0}
.inline-form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}
.inline-form label{font-size:.85rem}
.inline-form select{max-width:16rem}
.dag{margin:.5rem 0;overflow-x:auto;border:1px solid var(--line);border-radius:.4rem;background:#fff;padding:.25rem}
.dag svg{display:block;margin:0 auto;max-width:none}
.dag .edge{fill:none;stroke:#64748b;stroke-width:1.5}
.dag .arrow{fill:#64748b}
.dag .node rect{fill:var(--fill);stroke:var(--stroke);stroke-width:2;stroke-dasharray:var(--dash,none)}
.dag .node.s-running rect,.dag .node.s-failed rect{stroke-width:3}
.dag .node text{fill:var(--ink);font-size:13px;font-family:system-ui,sans-serif}
.dag .node .label{font-weight:700}
.dag .node .status{font-size:11px;letter-spacing:.04em}
.dag .node.s-skipped .label,.dag .node.s-cancelled .label{font-style:italic}
.dag a.node:focus{outline:none}
.dag a.node:focus rect{stroke:#f59e0b;stroke-width:4}
.dag figcaption{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem;padding:.25rem}
.legend{display:flex;flex-wrap:wrap;gap:.4rem;margin:0;padding:0;list-style:none}
.timeline{list-style:none;margin:.5rem 0;padding:0}
.timeline li{display:grid;grid-template-columns:minmax(6rem,12rem) 1fr;gap:.5rem;align-items:center;padding:.2rem 0;border-bottom:1px solid var(--line)}
.timeline .tl-label{font-size:.85rem;overflow-wrap:anywhere}
.timeline .tl-label small{display:block;color:var(--muted)}
.timeline svg{display:block;width:100%;height:18px}
.timeline .track{fill:#f1f5f9}
.timeline .bar{fill:var(--stroke);stroke:var(--stroke)}
.timeline .bar.s-skipped,.timeline .bar.s-cancelled{fill:var(--fill);stroke-width:1.5;stroke-dasharray:var(--dash)}
.timeline .retry{fill:var(--fill);stroke:var(--stroke);stroke-dasharray:3 2}
.axis{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem;color:var(--muted);font-size:.85rem;margin:.25rem 0}
.steps details{border:1px solid var(--line);border-radius:.4rem;margin:.4rem 0;padding:.25rem .75rem}
.steps summary{cursor:pointer;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;padding:.35rem 0}
.steps summary .step-id{font-weight:700;overflow-wrap:anywhere}
.workflow{border-top:2px solid var(--line);padding-top:.5rem;margin-top:1.5rem}
.signin{max-width:26rem;margin:2rem auto}
.signin input{width:100%}
@media (max-width:40rem){
  main{padding:.75rem}
  table.runs thead,table.versions thead{position:absolute;left:-9999px}
  table.runs tr,table.versions tr{display:block;border:1px solid var(--line);border-radius:.4rem;margin:.5rem 0;padding:.25rem .5rem}
  table.runs td,table.versions td{display:grid;grid-template-columns:6.5rem 1fr;gap:.5rem;border:0;padding:.25rem 0}
  table.runs td::before,table.versions td::before{content:attr(data-label);font-weight:600;color:var(--muted);font-size:.85rem}
  .timeline li{grid-template-columns:1fr}
  dl.facts{grid-template-columns:1fr}
  dl.facts dd{margin-bottom:.4rem}
}
${STATUS_CSS}`

/**
 * Keeps a live page current without a client-side framework. A page with `data-stream` (a run's) listens to the
 * run's event stream and reloads once an event later than the shown record (`data-updated-at`; an id starts with its
 * time) arrives; without EventSource, or on other pages, it asks the server every `data-refresh-ms` for the page's
 * fingerprint (see `refresh.ts`) and reloads only when that changed. Either way it reloads after 30 s so relative
 * times stay honest. It holds off while the tab is hidden, while a control has focus (a keyboard user
 * tabbing to Cancel keeps their place, someone typing keeps their text), while a field holds text the user
 * changed (an event payload typed and not yet sent) and just after a pointer press, and stops once a form is
 * submitted, so a reload never swallows a click or a draft.
 */
export const REFRESH_JS = `(function(){var b=document.body,ms=Number(b.getAttribute('data-refresh-ms'));if(!ms)return;
var fp=b.getAttribute('data-fingerprint'),sent=false,pressed=0,born=Date.now();
document.addEventListener('submit',function(){sent=true},true);
document.addEventListener('pointerdown',function(){pressed=Date.now()},true);
function dirty(){return [].some.call(document.querySelectorAll('input,textarea'),function(e){return e.value!==e.defaultValue})}
function busy(){var a=document.activeElement;return sent||document.hidden||Date.now()-pressed<ms||dirty()||!!(a&&/^(A|BUTTON|SUMMARY|INPUT|SELECT|TEXTAREA)$/.test(a.tagName.toUpperCase()))}
function later(){setTimeout(tick,ms)}
var src=b.getAttribute('data-stream'),upd=Number(b.getAttribute('data-updated-at')),changed=false,es=null;
if(src&&window.EventSource){es=new EventSource(src);
['run.started','run.paused','run.resumed','run.finished','step.started','step.waiting','step.retrying','step.completed','step.failed','step.skipped','step.cancelled'].forEach(function(t){
es.addEventListener(t,function(e){if(Number(String(e.lastEventId).split('.')[0])>upd)changed=true})})}
function tick(){if(sent)return;if(busy())return later();if(Date.now()-born>30000||changed)return location.reload();
if(es)return later();
fetch(location.href,{headers:{'X-Gorkflow-Fingerprint':'1'},cache:'no-store',credentials:'same-origin'})
.then(function(r){return r.text()}).then(function(t){if(t!==fp&&!busy())location.reload();else later()},later)}
later()})();
`

/** Cache-busting version of an asset: FNV-1a of its text, in base 36. */
export function assetVersion(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(36)
}

export const CSS_VERSION = assetVersion(UI_CSS)
export const JS_VERSION = assetVersion(REFRESH_JS)
