/*
 * Reset entry and vector table for the STM32F407 (RM0090 table 61: 16 Cortex-M4 system
 * exceptions, then IRQ 0..81). Every slot is filled: an interrupt nobody enabled lands in the
 * fault reporter instead of jumping through a zero vector.
 */
#include <stdint.h>

#include "stm32f407_regs.h"

/* Provided by linker.ld. */
extern uint32_t _sidata[]; /* load address of .data in flash */
extern uint32_t _sdata[], _edata[];
extern uint32_t _sbss[], _ebss[];
extern uint32_t _estack[]; /* initial stack pointer: top of SRAM */

int main(void);

/* Handlers living in other files of this port. */
void F407_FaultEntry(void);  /* fault.c: every fault and every unexpected exception */
void SysTick_Handler(void);  /* systick.c */
void USART2_IRQHandler(void); /* usart2.c */

void Reset_Handler(void);

typedef void (*f407_vector)(void);

#define F407_IRQ_COUNT 82u     /* IRQ 0 (WWDG) .. IRQ 81 (FPU) on the F407 */
#define F407_VECTOR_COUNT (16u + F407_IRQ_COUNT)
#define F407_USART2_IRQ 38u     /* == USART2_IRQN, spelled here so the table reads on its own */
_Static_assert(F407_USART2_IRQ == USART2_IRQN, "USART2 IRQ number");

/* Placed first in flash by linker.ld (.isr_vector). Slot numbers are exception numbers;
 * IRQ n is slot 16 + n. */
__attribute__((section(".isr_vector"), used)) static const f407_vector f407_vectors[F407_VECTOR_COUNT] = {
    [0] = (f407_vector)(uintptr_t)_estack,
    [1] = Reset_Handler,
    [2] = F407_FaultEntry, /* NMI */
    [3] = F407_FaultEntry, /* HardFault */
    [4] = F407_FaultEntry, /* MemManage */
    [5] = F407_FaultEntry, /* BusFault: also recovers the unique-id probe, see fault.c */
    [6] = F407_FaultEntry, /* UsageFault */
    [11] = F407_FaultEntry, /* SVCall: never used */
    [12] = F407_FaultEntry, /* DebugMonitor: never used */
    [14] = F407_FaultEntry, /* PendSV: never used */
    [15] = SysTick_Handler,
    /* IRQ slots (GNU range initialisers): only USART2 (IRQ 38) is used. */
    [16 ... 16 + F407_USART2_IRQ - 1u] = F407_FaultEntry,
    [16 + F407_USART2_IRQ] = USART2_IRQHandler,
    [16 + F407_USART2_IRQ + 1u ... F407_VECTOR_COUNT - 1u] = F407_FaultEntry,
};
/* Slots 7..10 and 13 are reserved by the architecture and stay 0. */

/* Copies .data, zeroes .bss, enables the FPU, then runs main. The loops are written out (and
 * kept from being turned into memcpy/memset calls) because no C library is set up yet. */
__attribute__((noreturn, optimize("no-tree-loop-distribute-patterns"))) void Reset_Handler(void)
{
    const uint32_t *src = _sidata;
    for (uint32_t *dst = _sdata; dst < _edata; ++dst, ++src) {
        *dst = *src;
    }
    for (uint32_t *dst = _sbss; dst < _ebss; ++dst) {
        *dst = 0u;
    }

    /* The vector table is at the start of flash; say so explicitly rather than trusting the
     * boot alias at address 0, so the same ELF behaves the same when loaded by a debugger. */
    SCB_VTOR = (uint32_t)(uintptr_t)f407_vectors;

    /* The build uses -mfloat-abi=hard: the compiler may emit FPU instructions anywhere in main,
     * so coprocessors 10/11 must be enabled before the first C function that could use them. */
    SCB_CPACR |= SCB_CPACR_CP10_CP11_FULL;
    F407_DSB();
    F407_ISB();

    (void)main();
    /* main never returns; if it ever did, resetting is the only sane recovery. */
    SCB_AIRCR = SCB_AIRCR_VECTKEY | (SCB_AIRCR & SCB_AIRCR_PRIGROUP_MASK) | SCB_AIRCR_SYSRESETREQ;
    for (;;) {
    }
}
