/**
 * The console's stylesheet and its one small script, served from the Worker itself (the CSP allows only
 * same-origin script and style, nothing inline). The script is an enhancement: every page works without it.
 * It re-fetches the page every few seconds and swaps the `data-live` sections (never the forms), and keeps the
 * "data as of" ages and the override countdowns current.
 */
export const CSS = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d1f21;--muted:#5f6368;--line:#d8dadd;--card:#fff;--accent:#0b57d0;
--ok:#1e8e3e;--warn:#b06000;--bad:#c5221f;--c0:#c5221f;--c1:#0b57d0;--c2:#8430ce;--c3:#b06000;--c4:#007b83;--c5:#5f6368}
@media (prefers-color-scheme:dark){:root{--bg:#131416;--fg:#e8eaed;--muted:#9aa0a6;--line:#3c4043;--card:#1c1d20;
--accent:#8ab4f8;--ok:#81c995;--warn:#fdd663;--bad:#f28b82;--c0:#f28b82;--c1:#8ab4f8;--c2:#d7aefb;--c3:#fdd663;--c4:#78d9ec;--c5:#bdc1c6}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
a{color:var(--accent)}main{max-width:1100px;margin:0 auto;padding:12px 16px 48px}
.top{display:flex;justify-content:space-between;align-items:center;gap:12px;padding:10px 16px;border-bottom:1px solid var(--line);background:var(--card)}
.brand{font-weight:700;text-decoration:none;color:var(--fg)}.top nav{display:flex;gap:12px;align-items:center;flex-wrap:wrap}
h1{font-size:1.5rem;margin:.4em 0 .1em}h2{font-size:1.1rem;margin:1.4em 0 .4em}
.crumbs,.age{color:var(--muted);font-size:.9rem;margin:.2em 0}
section,figure{margin:0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
.fleet td:first-child a{font-weight:600}
.mark{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85rem;border:1px solid currentColor}
.mark-ok{color:var(--ok)}.mark-warn{color:var(--warn)}.mark-breached{color:var(--bad);font-weight:700}.mark-quiet,.mark-unknown{color:var(--muted)}
dl.pointers,dl.answers{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{color:var(--muted)}dd{margin:0}
dl.answers ul{margin:0;padding-left:1.2em}
.overrides{padding-left:1.2em}.overrides li{margin:4px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr));gap:16px}.charts h2{grid-column:1/-1}
.chart{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px}
.chart svg{width:100%;height:auto;display:block}
.chart .plot{fill:none;stroke:var(--line)}.chart .grid{stroke:var(--line);stroke-dasharray:2 3}
.chart .axis{fill:var(--muted);font-size:10px}
.chart .rate{fill:none;stroke-width:2}.chart .threshold{stroke-dasharray:6 4;stroke-width:1}
.chart .mark{stroke:var(--muted);stroke-width:1.5;stroke-dasharray:1 2}.chart .mark-guard,.chart .mark-plan{stroke:var(--warn)}
${[0, 1, 2, 3, 4, 5].map((n) => `.c${n} .rate,.c${n} .threshold{stroke:var(--c${n})}.c${n} .swatch{background:var(--c${n})}`).join("")}
.legend{list-style:none;padding:0;margin:6px 0 0;font-size:.9rem}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px}
.moves{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,300px),1fr));gap:12px;align-items:start}.moves h2{grid-column:1/-1}
form.move{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px;display:flex;flex-direction:column;gap:8px}
form.move label{display:flex;flex-direction:column;gap:2px;font-size:.9rem;color:var(--muted)}
input,select,button{font:inherit;padding:6px 8px;border-radius:6px;border:1px solid var(--line);background:var(--bg);color:var(--fg)}
button{background:var(--accent);color:var(--bg);border-color:var(--accent);cursor:pointer;font-weight:600}
button.danger{background:var(--bad);border-color:var(--bad)}button.link{background:none;border:none;color:var(--accent);padding:0;font-weight:400}
form.inline{display:inline}.button-link{font-weight:600}
.timeline{list-style:none;padding:0}.tl{border-left:3px solid var(--line);padding:4px 10px;margin:6px 0}
.tl-rate{border-color:var(--warn)}.tl-guard,.tl-plan{border-color:var(--bad)}.tl-reason{color:var(--muted)}
.kind{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.diff{font-size:.85rem;margin-top:4px}.diff th{font-weight:500;font-family:ui-monospace,monospace}.diff .from{color:var(--bad)}.diff .to{color:var(--ok)}
.diff td{word-break:break-word}
.error{color:var(--bad);font-weight:600}.ok{color:var(--ok)}
pre.json{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px;overflow:auto;font-size:.85rem}
.signin form{display:flex;flex-direction:column;gap:10px;max-width:420px}
code.digest{font-size:.85rem}
@media (max-width:640px){table.fleet thead{display:none}table.fleet tr{display:block;border-bottom:1px solid var(--line);padding:6px 0}
table.fleet td{display:flex;justify-content:space-between;border:none;padding:2px 4px}table.fleet td::before{content:attr(data-label);color:var(--muted)}
dl.pointers,dl.answers{grid-template-columns:1fr}dt{margin-top:6px}}
`;

export const JS = `"use strict";
(function(){
  function words(ms){var s=Math.round(Math.abs(ms)/1000);if(s<60)return s+" s";var m=Math.floor(s/60);return m<60?m+" min "+(s%60)+" s":Math.floor(m/60)+" h "+(m%60)+" min";}
  function tick(){
    var now=Date.now();
    document.querySelectorAll("[data-age-of]").forEach(function(e){e.textContent="("+words(now-Number(e.getAttribute("data-age-of")))+" ago)";});
    document.querySelectorAll("[data-countdown]").forEach(function(e){var ms=Date.parse(e.getAttribute("data-countdown"))-now;e.textContent=ms>0?"in "+words(ms):"expired";});
  }
  function refresh(){
    fetch(location.href,{headers:{"x-console-refresh":"1"},credentials:"same-origin"}).then(function(r){
      if(!r.ok||r.redirected)return null;return r.text();
    }).then(function(text){
      if(!text)return;var doc=new DOMParser().parseFromString(text,"text/html");
      doc.querySelectorAll("[data-live]").forEach(function(fresh){
        var key=fresh.getAttribute("data-live");var old=document.querySelector('[data-live="'+key+'"]');
        if(old&&!old.contains(document.activeElement))old.replaceWith(document.importNode(fresh,true));
      });
      tick();
    }).catch(function(){});
  }
  document.addEventListener("DOMContentLoaded",function(){
    tick();setInterval(tick,1000);
    var every=Number(document.body.getAttribute("data-refresh")||0);
    if(every>0)setInterval(function(){if(!document.hidden)refresh();},every);
  });
})();
`;
