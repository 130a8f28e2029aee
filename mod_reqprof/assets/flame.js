/* mod_reqprof: the script of the flame graph (rp_report_flame.c).
 *
 * Embedded at build time (apxs.mk makes rp_assets.h of it) and sent in
 * the graph's own script element, inside CDATA, with the page's CSP
 * nonce: in the page (an svg inside the HTML) and in format=svg (a
 * standalone XML document) alike.  So it needs no escaping as XML, and
 * the build refuses it when it holds the three characters that end a
 * CDATA section, or a less-than sign followed by a slash.
 *
 * No inline handlers (the CSP would refuse them): one listener on the
 * svg, delegating, and no style attributes (presentation attributes
 * instead).  Every frame carries its sample offset and count (data-o,
 * data-n), depth (data-d) and the length of its name in its title
 * (data-l), so zooming and the search's "Matched" share are exact
 * integer arithmetic.  It hangs reqprofSearch(), reqprofZoom(),
 * reqprofUnzoom() and reqprofReset() on the svg element for the page
 * around it (and the browser tests).  A page may hold two graphs (the
 * request view's own and its comparison with typical): each runs its
 * own copy of this, and finds its parts by its svg's id, their prefix.
 */
(function () {
'use strict';
var me = document.currentScript;
var svg = me && me.closest ? me.closest('svg') : null;
if (!svg) { svg = document.querySelector('svg#flame'); }
var PAD = +svg.getAttribute('data-pad');
var USABLE = +svg.getAttribute('data-usable');
var CW = +svg.getAttribute('data-cw');
var MATCH = svg.getAttribute('data-match');
var ID = '#' + (svg.id || 'flame');
var matched = svg.querySelector(ID + '-matched');
var details = svg.querySelector(ID + '-details');
var searchCtl = svg.querySelector(ID + '-search');
var resetCtl = svg.querySelector(ID + '-reset');
var frames = [], root = null, zoomed = null, term = '';
Array.prototype.forEach.call(svg.querySelectorAll('g.f'), function (g) {
  var r = g.querySelector('rect'), t = g.querySelector('text');
  var it = { g: g, r: r, t: t, o: +g.getAttribute('data-o'),
    n: +g.getAttribute('data-n'), d: +g.getAttribute('data-d'),
    name: g.querySelector('title').textContent.substr(0,
      +g.getAttribute('data-l')),
    fill: r.getAttribute('fill') };
  g.reqprofFrame = it;
  frames.push(it);
  if (it.d === 0) { root = it; }
});
if (!root) { return; }
/* Clipped as the module clips (put_clipped in rp_report_flame.c):
 * whole when it fits, else less two characters and "..", nothing when
 * not even three fit. */
function clip(name, w) {
  var fit = Math.floor((w - 6) / CW);
  if (fit < 3) { return ''; }
  return name.length <= fit ? name : name.substr(0, fit - 2) + '..';
}
function place(it, x, w) {
  it.r.setAttribute('x', x.toFixed(2));
  it.r.setAttribute('width', w.toFixed(2));
  it.t.setAttribute('x', (x + 3).toFixed(2));
  it.t.textContent = clip(it.name, w);
  it.g.removeAttribute('display');
}
function pct(n) { return (100 * n / root.n).toFixed(2) + '%'; }
/* Ancestors of Z contain its sample range at a lower depth; its
 * descendants lie within it deeper; anything else is hidden. */
function zoom(z) {
  var scale = USABLE / z.n;
  frames.forEach(function (it) {
    var end = it.o + it.n, zend = z.o + z.n;
    if (it.d < z.d && it.o <= z.o && end >= zend) {
      place(it, PAD, USABLE);
      it.g.setAttribute('opacity', '0.5');
    }
    else if (it.d >= z.d && it.o >= z.o && end <= zend) {
      place(it, PAD + (it.o - z.o) * scale, it.n * scale);
      it.g.removeAttribute('opacity');
    }
    else {
      it.g.setAttribute('display', 'none');
    }
  });
  zoomed = z;
  resetCtl.setAttribute('opacity', '1');
}
function unzoom() {
  var scale = USABLE / root.n;
  frames.forEach(function (it) {
    place(it, PAD + it.o * scale, it.n * scale);
    it.g.removeAttribute('opacity');
  });
  zoomed = null;
  resetCtl.setAttribute('opacity', '0.4');
}
/* Matched share: hits sorted by offset, widest first; a hit that
 * starts inside the last counted one is nested in it (the tree's
 * ranges nest or are disjoint), so it is not counted again. */
function search(re) {
  var rx = null, hits = [], sum = 0, end = -1;
  term = re ? String(re) : '';
  if (term) {
    try { rx = new RegExp(term); }
    catch (e) { matched.textContent = 'Matched: bad regex'; return -1; }
  }
  frames.forEach(function (it) {
    var hit = rx !== null && it.d > 0 && rx.test(it.name);
    it.r.setAttribute('fill', hit ? MATCH : it.fill);
    if (hit) { hits.push(it); }
  });
  if (!rx) {
    matched.textContent = '';
    searchCtl.textContent = 'Search';
    return 0;
  }
  hits.sort(function (a, b) { return a.o - b.o || b.n - a.n; });
  hits.forEach(function (it) {
    if (it.o >= end) { sum += it.n; end = it.o + it.n; }
  });
  matched.textContent = 'Matched: ' + pct(sum);
  searchCtl.textContent = 'Clear search';
  return 100 * sum / root.n;
}
function frameOf(e) {
  var g = e.target.closest ? e.target.closest('g.f') : null;
  return g ? g.reqprofFrame : null;
}
svg.addEventListener('click', function (e) {
  var it = frameOf(e), q;
  if (it) { zoom(it); return; }
  if (e.target === resetCtl) { unzoom(); return; }
  if (e.target === searchCtl) {
    if (term) { search(''); return; }
    q = window.prompt('Search (regular expression)', '');
    if (q) { search(q); }
  }
});
svg.addEventListener('mouseover', function (e) {
  var it = frameOf(e);
  details.textContent = it ? it.name + ' (' + it.n + ' samples, '
    + pct(it.n) + ')' : '';
});
svg.addEventListener('mouseout', function () {
  details.textContent = '';
});
svg.reqprofZoom = function (g) {
  if (g && g.reqprofFrame) { zoom(g.reqprofFrame); }
};
svg.reqprofUnzoom = unzoom;
svg.reqprofSearch = search;
svg.reqprofReset = function () { unzoom(); search(''); };
resetCtl.setAttribute('opacity', '0.4');
})();
