/*
 * The few STM32F407 and Cortex-M4 registers this port touches, written out by hand from RM0090
 * (STM32F405/407 reference manual) and PM0214 (Cortex-M4 programming manual): no vendor header
 * can be downloaded here, and a short list keeps every register the port uses in plain sight.
 * Only the board port includes this file; the portable core never does.
 */
#ifndef STM32F407_REGS_H
#define STM32F407_REGS_H

#include <stdint.h>

/* One memory-mapped 32-bit register. volatile: every access must reach the bus, in order. */
#define F407_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- RCC, reset and clock control (RM0090 §7.3), base 0x4002 3800 ---------------------------- */
#define RCC_BASE 0x40023800u
#define RCC_CR F407_REG(RCC_BASE + 0x00u)
#define RCC_PLLCFGR F407_REG(RCC_BASE + 0x04u)
#define RCC_CFGR F407_REG(RCC_BASE + 0x08u)
#define RCC_AHB1ENR F407_REG(RCC_BASE + 0x30u)
#define RCC_APB1ENR F407_REG(RCC_BASE + 0x40u)
#define RCC_CSR F407_REG(RCC_BASE + 0x74u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)

#define RCC_PLLCFGR_M_POS 0u   /* PLLM[5:0]: VCO input = source / M, must be 1..2 MHz */
#define RCC_PLLCFGR_M_MASK 0x3Fu
#define RCC_PLLCFGR_N_POS 6u   /* PLLN[14:6]: VCO = input * N, 100..432 MHz */
#define RCC_PLLCFGR_N_MASK 0x1FFu
#define RCC_PLLCFGR_P_POS 16u  /* PLLP[17:16]: 0 -> /2, 1 -> /4, 2 -> /6, 3 -> /8 */
#define RCC_PLLCFGR_P_MASK 0x3u
#define RCC_PLLCFGR_SRC_HSE (1u << 22)
#define RCC_PLLCFGR_Q_POS 24u  /* PLLQ[27:24]: 48 MHz domain = VCO / Q */
#define RCC_PLLCFGR_Q_MASK 0xFu

#define RCC_CFGR_SW_MASK 0x3u  /* SW[1:0]: system clock switch */
#define RCC_CFGR_SW_HSI 0x0u
#define RCC_CFGR_SW_HSE 0x1u
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_POS 2u    /* SWS[3:2]: the system clock actually selected (read only) */
#define RCC_CFGR_HPRE_POS 4u   /* HPRE[7:4]: AHB prescaler, 0xxx -> /1 */
#define RCC_CFGR_HPRE_MASK 0xFu
#define RCC_CFGR_PPRE1_POS 10u /* PPRE1[12:10]: APB1 prescaler, 0xx -> /1 */
#define RCC_CFGR_PPRE2_POS 13u /* PPRE2[15:13]: APB2 prescaler */
#define RCC_CFGR_PPRE_MASK 0x7u
#define RCC_CFGR_PPRE_DIV2 0x4u
#define RCC_CFGR_PPRE_DIV4 0x5u

#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_AHB1ENR_GPIODEN (1u << 3)
#define RCC_APB1ENR_USART2EN (1u << 17)

/* RCC_CSR reset flags (RM0090 §7.3.21): sticky until RMVF is written. */
#define RCC_CSR_RMVF (1u << 24)
#define RCC_CSR_BORRSTF (1u << 25)
#define RCC_CSR_PINRSTF (1u << 26)
#define RCC_CSR_PORRSTF (1u << 27)
#define RCC_CSR_SFTRSTF (1u << 28)
#define RCC_CSR_IWDGRSTF (1u << 29)
#define RCC_CSR_WWDGRSTF (1u << 30)
#define RCC_CSR_LPWRRSTF (1u << 31)

/* ---- Flash interface (RM0090 §3.9), base 0x4002 3C00 ------------------------------------------ */
#define FLASH_ACR F407_REG(0x40023C00u)
#define FLASH_ACR_LATENCY_MASK 0x7u
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)

/* ---- GPIO (RM0090 §8.4) ------------------------------------------------------------------------ */
#define GPIOA_BASE 0x40020000u
#define GPIOD_BASE 0x40020C00u
#define GPIO_MODER(base) F407_REG((base) + 0x00u)   /* 2 bits a pin: 00 in, 01 out, 10 AF, 11 analog */
#define GPIO_OSPEEDR(base) F407_REG((base) + 0x08u) /* 2 bits a pin: 00 low .. 11 very high */
#define GPIO_PUPDR(base) F407_REG((base) + 0x0Cu)   /* 2 bits a pin: 00 none, 01 up, 10 down */
#define GPIO_BSRR(base) F407_REG((base) + 0x18u)    /* low half sets, high half resets: atomic */
#define GPIO_AFRL(base) F407_REG((base) + 0x20u)    /* 4 bits a pin, pins 0..7 */
#define GPIO_MODE_OUTPUT 0x1u
#define GPIO_MODE_AF 0x2u
#define GPIO_PULL_UP 0x1u

/* ---- USART2 (RM0090 §30.6), base 0x4000 4400 on APB1 ------------------------------------------ */
#define USART2_BASE 0x40004400u
#define USART2_SR F407_REG(USART2_BASE + 0x00u)
#define USART2_DR F407_REG(USART2_BASE + 0x04u)
#define USART2_BRR F407_REG(USART2_BASE + 0x08u)
#define USART2_CR1 F407_REG(USART2_BASE + 0x0Cu)
#define USART2_CR2 F407_REG(USART2_BASE + 0x10u)
#define USART2_CR3 F407_REG(USART2_BASE + 0x14u)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE (1u << 13)
#define USART2_IRQN 38u

/* ---- Unique device id (RM0090 §39.1): 96 bits, read only ------------------------------------- */
#define F407_UID_ADDR 0x1FFF7A10u

/* ---- Cortex-M4 system control space (PM0214 §4) ---------------------------------------------- */
#define SYST_CSR F407_REG(0xE000E010u) /* SysTick control and status */
#define SYST_RVR F407_REG(0xE000E014u) /* reload value, 24 bits */
#define SYST_CVR F407_REG(0xE000E018u) /* current value; any write clears it */
#define SYST_CALIB F407_REG(0xE000E01Cu) /* TENMS[23:0]: reload for 10 ms on the reference clock */
#define SYST_CALIB_TENMS_MASK 0x00FFFFFFu
#define SYST_CALIB_NOREF (1u << 31)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)

#define NVIC_ISER(n) F407_REG(0xE000E100u + 4u * (n))
#define NVIC_IPR_BYTE(irq) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (irq)))

#define SCB_VTOR F407_REG(0xE000ED08u)
#define SCB_AIRCR F407_REG(0xE000ED0Cu)
#define SCB_SHPR3 F407_REG(0xE000ED20u) /* SysTick priority in bits 31:24 */
#define SCB_SHCSR F407_REG(0xE000ED24u)
#define SCB_CFSR F407_REG(0xE000ED28u)  /* MMFSR[7:0], BFSR[15:8], UFSR[31:16]; write 1 to clear */
#define SCB_HFSR F407_REG(0xE000ED2Cu)
#define SCB_BFAR F407_REG(0xE000ED38u)
#define SCB_CPACR F407_REG(0xE000ED88u)

#define SCB_AIRCR_VECTKEY (0x05FAu << 16)
#define SCB_AIRCR_PRIGROUP_MASK (0x7u << 8)
#define SCB_AIRCR_SYSRESETREQ (1u << 2)
#define SCB_SHCSR_MEMFAULTENA (1u << 16)
#define SCB_SHCSR_BUSFAULTENA (1u << 17)
#define SCB_SHCSR_USGFAULTENA (1u << 18)
#define SCB_CFSR_BFSR_MASK 0x0000FF00u
#define SCB_CPACR_CP10_CP11_FULL (0xFu << 20) /* full access to the FPU (coprocessors 10 and 11) */

/* Barriers and the few instructions C cannot express. */
#define F407_DSB() __asm__ volatile("dsb 0xF" ::: "memory")
#define F407_ISB() __asm__ volatile("isb 0xF" ::: "memory")
#define F407_WFI() __asm__ volatile("wfi" ::: "memory")
#define F407_IRQ_DISABLE() __asm__ volatile("cpsid i" ::: "memory")
#define F407_IRQ_ENABLE() __asm__ volatile("cpsie i" ::: "memory")
#define F407_COMPILER_BARRIER() __asm__ volatile("" ::: "memory")

#endif /* STM32F407_REGS_H */
