<?php
/* A page of known work for mod_reqprof's interpreter tests: what each
 * part costs is set by the query, so the test knows the split it must
 * find.  ?spin_a=N&spin_b=M: CPU in two functions (3:1 when N = 3M);
 * method, closure through array_map, recursion 30 deep, preg_match on a
 * costly pattern, sleep, an exception, a generator, a fatal error;
 * ?spin=N: N thousand loop turns at the top (the benchmark's 2 ms
 * handler); ?level=N: the recursion N deep (the walk's benchmark). */

function burn($n)
{
    $x = 0;
    for ($i = 0; $i < $n; $i++) {
        $x = ($x * 31 + $i) % 1000003;
    }
    return $x;
}

function work_a($units)
{
    return burn($units * 400000);
}

function work_b($units)
{
    return burn($units * 400000);
}

class Shop
{
    public function total($units)
    {
        return burn($units * 400000);
    }
}

function deep($level, $units)
{
    if ($level <= 1) {
        return burn($units * 400000);
    }
    return deep($level - 1, $units);
}

function regex($units)
{
    $subject = str_repeat('a', 18) . 'b';
    $n = 0;
    for ($i = 0; $i < $units; $i++) {
        $n += preg_match('/^(a+)+$/', $subject);
    }
    return $n;
}

function numbers($units)
{
    for ($i = 0; $i < $units; $i++) {
        yield burn(400000);
    }
}

function pause($ms)
{
    usleep($ms * 1000);
}

function q($name)
{
    return isset($_GET[$name]) ? (int)$_GET[$name] : 0;
}

$out = [];
if (q('spin')) {
    $out[] = burn(q('spin') * 1000);
}
if (q('level')) {
    $out[] = deep(q('level'), 1);
}
if (q('a')) {
    $out[] = work_a(q('a'));
}
if (q('b')) {
    $out[] = work_b(q('b'));
}
if (q('method')) {
    $shop = new Shop();
    $out[] = $shop->total(q('method'));
}
if (q('closure')) {
    $units = q('closure');
    $out[] = array_sum(array_map(function ($u) {
        return burn($u * 400000);
    }, array_fill(0, $units, 1)));
}
if (q('deep')) {
    $out[] = deep(30, q('deep'));
}
if (q('regex')) {
    $out[] = regex(q('regex'));
}
if (q('gen')) {
    foreach (numbers(q('gen')) as $v) {
        $out[] = $v;
    }
}
if (q('sleep')) {
    pause(q('sleep'));
}
if (q('throw')) {
    try {
        throw new RuntimeException('planned');
    } catch (RuntimeException $e) {
        $out[] = 'caught';
    }
}
if (q('fatal')) {
    undefined_function_on_purpose();
}
header('Content-Type: text/plain');
echo implode(' ', $out), "\n";
