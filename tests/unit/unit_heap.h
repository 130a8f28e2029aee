/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * unit_heap: how much memory a program holds now, for the tests and the
 * benchmark that bound what a render takes from its pool.
 *
 * APR pools take their blocks from an allocator that, as Debian builds
 * APR, maps each block with mmap(): malloc's statistics never see them.
 * So this header interposes mmap() and munmap() (a definition in the
 * executable comes before libapr's reference to libc's) and counts the
 * bytes mapped and not yet unmapped; and adds what malloc holds, from
 * the sanitizer's allocator when the program runs under ASan, else from
 * glibc's mallinfo2(), for an APR that takes its blocks from malloc.
 * Measure from a pool of its own allocator (apr_allocator_create): a
 * fresh allocator has no free blocks to hand out, so every block the
 * pool takes shows; and the pool frees nothing before it is destroyed,
 * so what it holds at the end of a render is its peak.
 *
 * Include it in one file of a program only.  Not thread-safe (the tests
 * and the benchmark render on one thread).
 */

#ifndef UNIT_HEAP_H
#define UNIT_HEAP_H

#include <dlfcn.h>
#include <malloc.h>
#include <sys/mman.h>

/* Set by ASan's runtime when it is linked in; weak, so that a program
 * without it still links (the address is then NULL). */
extern size_t __sanitizer_get_current_allocated_bytes(void)
    __attribute__((weak));

static size_t unit_mapped;      /* bytes mapped through mmap() now */

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static void *(*real)(void *, size_t, int, int, int, off_t);
    void *r;

    if (!real) {
        *(void **)&real = dlsym(RTLD_NEXT, "mmap");
    }
    r = real(addr, len, prot, flags, fd, off);
    if (r != MAP_FAILED) {
        unit_mapped += len;
    }
    return r;
}

int munmap(void *addr, size_t len)
{
    static int (*real)(void *, size_t);
    int r;

    if (!real) {
        *(void **)&real = dlsym(RTLD_NEXT, "munmap");
    }
    r = real(addr, len);
    if (r == 0) {
        unit_mapped -= len < unit_mapped ? len : unit_mapped;
    }
    return r;
}

/* Bytes of memory the program holds: mapped blocks plus malloc's. */
static double unit_heap_in_use(void)
{
    struct mallinfo2 mi;

    if (__sanitizer_get_current_allocated_bytes) {
        return (double)unit_mapped
               + (double)__sanitizer_get_current_allocated_bytes();
    }
    mi = mallinfo2();
    return (double)unit_mapped + (double)mi.uordblks + (double)mi.hblkhd;
}

#endif /* UNIT_HEAP_H */
