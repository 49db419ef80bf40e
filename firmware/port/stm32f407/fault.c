/*
 * Fault handling: one entry for every fault and every unexpected exception. It either recovers
 * the one load that f407_probe_read32() is allowed to fault on, or prints a one-line report and
 * resets the chip:
 *
 *     \nCVM-FAULT pc=<8 hex> lr=<8 hex> cfsr=<8 hex> hfsr=<8 hex> bfar=<8 hex> exc=<exception number>\n
 *
 * The leading '\n' ends whatever line the main loop was in the middle of writing, so the report
 * never lands inside a frame (the host sees at worst one damaged frame and then the report as a
 * log line). The report goes out polled, bypassing the main loop's writer, which may be the very
 * code that faulted.
 */
#include <stdbool.h>
#include <stdint.h>

#include "board.h"
#include "stm32f407_regs.h"

/* The probe: three instructions at known addresses, so the fault handler can recognise "the
 * probe's load faulted" by the stacked PC alone and resume at the fixup, which returns false.
 * Written in assembly because only there is the faulting instruction's address guaranteed.
 * bool f407_probe_read32(uint32_t addr, uint32_t *out): r0 = addr, r1 = out. */
__asm__(
    ".syntax unified\n"
    ".thumb\n"
    ".section .text.f407_probe_read32,\"ax\",%progbits\n"
    ".global f407_probe_read32\n"
    ".type f407_probe_read32, %function\n"
    ".thumb_func\n"
    "f407_probe_read32:\n"
    ".global f407_probe_load\n"
    "f407_probe_load:\n"
    "    ldr r2, [r0]\n"   /* may fault: a BusFault here resumes at f407_probe_fixup */
    "    str r2, [r1]\n"
    "    movs r0, #1\n"
    "    bx lr\n"
    ".global f407_probe_fixup\n"
    "f407_probe_fixup:\n"
    "    movs r0, #0\n"
    "    bx lr\n"
    ".size f407_probe_read32, . - f407_probe_read32\n"
    ".text\n");

extern const uint8_t f407_probe_load[];
extern const uint8_t f407_probe_fixup[];

/* Offsets (in words) in the exception stack frame the core pushes on entry. */
enum { FRAME_R0 = 0, FRAME_LR = 5, FRAME_PC = 6, FRAME_XPSR = 7 };

/* Exception numbers (IPSR). */
enum { EXC_HARDFAULT = 3, EXC_BUSFAULT = 5 };

#define SCB_HFSR_FORCED (1u << 30)

void f407_fault_init(void)
{
    SCB_SHCSR |= SCB_SHCSR_MEMFAULTENA | SCB_SHCSR_BUSFAULTENA | SCB_SHCSR_USGFAULTENA;
    F407_DSB();
    F407_ISB();
}

static uint32_t f407_read_ipsr(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    return ipsr & 0x1FFu;
}

/* Appends " name=XXXXXXXX" to buf at *pos; buf is large enough by construction (see caller). */
static void f407_fault_append_hex(char *buf, uint32_t *pos, const char *name, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    buf[(*pos)++] = ' ';
    while (*name != '\0') {
        buf[(*pos)++] = *name++;
    }
    buf[(*pos)++] = '=';
    for (int32_t shift = 28; shift >= 0; shift -= 4) {
        buf[(*pos)++] = digits[(value >> (uint32_t)shift) & 0xFu];
    }
}

__attribute__((noreturn)) static void f407_fault_report_and_reset(const uint32_t *frame, uint32_t exc)
{
    f407_led_set(F407_LED_RED, true);

    /* "\nCVM-FAULT" + 6 fields of at most 14 characters + "\n" + NUL: 10 + 84 + 2 < 112. */
    char line[112];
    uint32_t pos = 0u;
    const char *prefix = "\nCVM-FAULT";
    while (*prefix != '\0') {
        line[pos++] = *prefix++;
    }
    f407_fault_append_hex(line, &pos, "pc", frame[FRAME_PC]);
    f407_fault_append_hex(line, &pos, "lr", frame[FRAME_LR]);
    f407_fault_append_hex(line, &pos, "cfsr", SCB_CFSR);
    f407_fault_append_hex(line, &pos, "hfsr", SCB_HFSR);
    f407_fault_append_hex(line, &pos, "bfar", SCB_BFAR);
    f407_fault_append_hex(line, &pos, "exc", exc);
    line[pos++] = '\n';
    line[pos] = '\0';
    f407_usart2_write_from_fault(line);

    /* Reset. The next boot reports reset_cause "software" (SFTRSTF). */
    F407_DSB();
    SCB_AIRCR = SCB_AIRCR_VECTKEY | (SCB_AIRCR & SCB_AIRCR_PRIGROUP_MASK) | SCB_AIRCR_SYSRESETREQ;
    F407_DSB();
    for (;;) {
    }
}

/* Called by F407_FaultEntry with the stacked frame and EXC_RETURN still in lr: returning from
 * here is an exception return to the (possibly patched) stacked PC. */
__attribute__((used)) void f407_fault_dispatch(uint32_t *frame)
{
    const uint32_t exc = f407_read_ipsr();
    const uint32_t probe_pc = (uint32_t)(uintptr_t)f407_probe_load & ~1u;
    const uint32_t cfsr = SCB_CFSR;

    if ((exc == EXC_BUSFAULT || exc == EXC_HARDFAULT) && (frame[FRAME_PC] & ~1u) == probe_pc &&
        (cfsr & SCB_CFSR_BFSR_MASK) != 0u) {
        /* The probe's load hit a bus error: skip to the fixup, forget the fault. */
        frame[FRAME_PC] = (uint32_t)(uintptr_t)f407_probe_fixup & ~1u;
        SCB_CFSR = cfsr & SCB_CFSR_BFSR_MASK; /* write-1-to-clear */
        if (exc == EXC_HARDFAULT) {
            SCB_HFSR = SCB_HFSR_FORCED;
        }
        F407_DSB();
        return;
    }
    f407_fault_report_and_reset(frame, exc);
}

/* Vector entry for NMI, HardFault, MemManage, BusFault, UsageFault and every unused slot.
 * Picks the stack the faulting code used (EXC_RETURN bit 2) and tail-calls the C part with lr
 * untouched, so a recovered probe returns straight to thread mode. */
__attribute__((naked)) void F407_FaultEntry(void)
{
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b f407_fault_dispatch\n");
}
