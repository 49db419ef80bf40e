/*
 * Reset cause from the RCC_CSR flags (RM0090 §7.3.21). The flags accumulate until software
 * clears them, and several are set together: every internal reset also pulls NRST, so PINRSTF
 * accompanies all of them, and a power-on sets BORRSTF with PORRSTF. They are therefore read in
 * order of specificity. The F407 has no lockup-reset flag, so "lockup" is never reported.
 */
#include <stdint.h>

#include "board.h"
#include "cvm_port.h"
#include "stm32f407_regs.h"

static uint32_t csr_at_boot;
static cvm_reset_cause cause_at_boot = CVM_RESET_UNKNOWN;

static cvm_reset_cause f407_decode_csr(uint32_t csr)
{
    if ((csr & (RCC_CSR_IWDGRSTF | RCC_CSR_WWDGRSTF)) != 0u) {
        return CVM_RESET_WATCHDOG;
    }
    if ((csr & RCC_CSR_LPWRRSTF) != 0u) {
        return CVM_RESET_LOW_POWER;
    }
    if ((csr & RCC_CSR_SFTRSTF) != 0u) {
        return CVM_RESET_SOFTWARE; /* includes the fault handler's reset */
    }
    if ((csr & RCC_CSR_PORRSTF) != 0u) {
        return CVM_RESET_POWER_ON;
    }
    if ((csr & RCC_CSR_BORRSTF) != 0u) {
        return CVM_RESET_BROWN_OUT;
    }
    if ((csr & RCC_CSR_PINRSTF) != 0u) {
        return CVM_RESET_PIN;
    }
    return CVM_RESET_UNKNOWN; /* no flag: e.g. QEMU, where RCC reads as 0 */
}

uint32_t f407_reset_cause_capture(void)
{
    csr_at_boot = RCC_CSR;
    cause_at_boot = f407_decode_csr(csr_at_boot);
    RCC_CSR |= RCC_CSR_RMVF;
    return csr_at_boot;
}

cvm_reset_cause cvm_port_reset_cause(void)
{
    return cause_at_boot;
}
