/* mod_reqprof: the script of the page (rp_report_html.c).
 *
 * Embedded at build time (apxs.mk makes rp_assets.h of it) and sent in
 * the page's own script element, which carries the CSP nonce; there is
 * no other script and no inline handler.  The page works without it:
 * this only leaves empty fields out of GET forms (the handler refuses
 * "fraction=" as a number) and drives the tree's expand and collapse
 * buttons, which stay hidden without it.  The flame graph has its own
 * script (flame.js).
 *
 * The build refuses an asset with a less-than sign followed by a slash:
 * in the page it would end the script element.
 */
(function () {
    'use strict';

    function each(selector, fn) {
        Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
    }

    /* An empty field is not sent: the handler reads it as not given. */
    each('form.get', function (form) {
        form.addEventListener('submit', function () {
            each('#' + form.id + ' input', function (input) {
                if (input.name && input.value === '') {
                    input.disabled = true;
                }
            });
        });
    });

    /* Back to the page from the history: the fields work again. */
    window.addEventListener('pageshow', function () {
        each('form.get input', function (input) {
            input.disabled = false;
        });
    });

    /* Expand all, collapse all: every node of the tree but its leaves. */
    var tree = document.getElementById('tree');
    each('button[data-tree]', function (button) {
        button.hidden = false;
        button.addEventListener('click', function () {
            var open = button.getAttribute('data-tree') === 'open';
            Array.prototype.forEach.call(tree.querySelectorAll('details'),
                function (d) {
                    if (!d.classList.contains('leaf')) {
                        d.open = open;
                    }
                });
        });
    });
})();
