/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_arch: everything the module knows of the processor, in one place.
 *
 * The signal handler needs the interrupted pc from the ucontext; the
 * off-CPU unwinder names registers to libunwind's remote API and reads
 * machine code: which call instruction precedes a return address, where a
 * PLT stub jumps.  Those are x86-64 facts; another architecture adds its
 * own section here (and defines RP_ARCH_OFFCPU once its decoding exists),
 * and nothing else in the module changes.  Pure: byte decoding and macros,
 * safe in signal context.
 */

#ifndef RP_ARCH_H
#define RP_ARCH_H

#include <string.h>
#include <ucontext.h>

#include <apr.h>

#if defined(__x86_64__)

#define RP_ARCH_NAME            "x86-64"

/* Off-CPU unwinding is implemented (rp_offcpu). */
#define RP_ARCH_OFFCPU          1

/* The interrupted pc in a signal handler's ucontext_t *UC. */
#define RP_ARCH_UC_PC(uc)       ((void *)(uc)->uc_mcontext.gregs[REG_RIP])

/* libunwind's numbers for the pc, stack and frame pointers (include
 * <libunwind.h> first). */
#define RP_ARCH_UNW_PC          UNW_X86_64_RIP      /* == UNW_REG_IP */
#define RP_ARCH_UNW_SP          UNW_X86_64_RSP      /* == UNW_REG_SP */
#define RP_ARCH_UNW_FP          UNW_X86_64_RBP

/* Bytes before a return address that hold the call that pushed it, and
 * bytes of a PLT stub that say where it jumps. */
#define RP_ARCH_CALL_BYTES      6
#define RP_ARCH_PLT_BYTES       12

/* NEXT plus the signed 32-bit displacement at B: the target of a relative
 * call or jump, or a %rip-relative address, NEXT being the address of the
 * following instruction. */
static APR_INLINE apr_uint64_t rp_arch_rel32(apr_uint64_t next,
                                             const unsigned char *b)
{
    apr_int32_t r;

    memcpy(&r, b, sizeof(r));
    return next + (apr_uint64_t)(apr_int64_t)r;
}

/* The call whose return address is RA, from the RP_ARCH_CALL_BYTES bytes
 * B before it: 1 with its target in *TO for "call rel32" (e8); 2 with the
 * address of the word holding the target in *TO for "call *disp32(%rip)"
 * (ff 15, -fno-plt); 0 for anything else (a call through a register
 * cannot be checked). */
static APR_INLINE int rp_arch_call_before(apr_uint64_t ra,
                                          const unsigned char *b,
                                          apr_uint64_t *to)
{
    if (b[1] == 0xe8) {
        *to = rp_arch_rel32(ra, b + 2);
        return 1;
    }
    if (b[0] == 0xff && b[1] == 0x15) {
        *to = rp_arch_rel32(ra, b + 2);
        return 2;
    }
    return 0;
}

/* Whether the RP_ARCH_PLT_BYTES bytes C at T are a PLT stub, "jmp
 * *disp32(%rip)" after an optional endbr64 and bnd prefix: 1 with the
 * address of the word holding its target in *SLOT, else 0. */
static APR_INLINE int rp_arch_plt_slot(apr_uint64_t t,
                                       const unsigned char *c,
                                       apr_uint64_t *slot)
{
    int i = 0;

    if (c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa) {
        i = 4;                                  /* endbr64 */
    }
    if (c[i] == 0xf2) {
        i++;                                    /* bnd */
    }
    if (c[i] == 0xff && c[i + 1] == 0x25) {     /* jmp *disp32(%rip) */
        *slot = rp_arch_rel32(t + (apr_uint64_t)i + 6, c + i + 2);
        return 1;
    }
    return 0;
}

#else

#error "mod_reqprof knows x86-64 only: add this processor to rp_arch.h"

#endif

#endif /* RP_ARCH_H */
