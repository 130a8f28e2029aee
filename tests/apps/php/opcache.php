<?php
/* Whether opcache serves this page's scripts (the soak says so). */
header('Content-Type: text/plain');
$s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
echo ($s && $s['opcache_enabled']) ? "on\n" : "off\n";
