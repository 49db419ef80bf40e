# Board port: STM32F407 Discovery (also runs unchanged on QEMU's netduinoplus2 / STM32F405).
#
# Called from firmware/ by the top-level Makefile:
#   $(MAKE) -f port/stm32f407/port.mk CONFIG=<name> BUILD_DIR=build/<config>/arm \
#           CORE_SRCS="<core .c files>" CORE_INC=core/include CONFIG_FLAGS="<-D flags>"
# Produces $(BUILD_DIR)/cvm-fw.elf, .bin and .map, refuses a link that pulls in a heap
# (malloc, free, _sbrk, _malloc_r), and prints the footprint.

CONFIG ?= default
BUILD_DIR ?= build/$(CONFIG)/arm
CORE_SRCS ?= $(wildcard core/src/*.c)
CORE_INC ?= core/include
CONFIG_FLAGS ?=

# The pool object whose share of static RAM the footprint reports: the first data/bss symbol of
# the ELF whose name matches this extended regex: the core's one static pool object, named
# cvm_pool_state in core/src/cvm_pool.c (a file-level static, so nm lists it with a b/d type).
POOL_SYMBOL_RE ?= ^cvm_pool_state$$

PORT_DIR := port/stm32f407
CROSS ?= arm-none-eabi-
CC := $(CROSS)gcc
OBJCOPY := $(CROSS)objcopy
SIZE := $(CROSS)size
NM := $(CROSS)nm

ifeq ($(shell command -v $(CC) 2>/dev/null),)
$(error $(CC) not found: install Debian package gcc-arm-none-eabi (and libnewlib-arm-none-eabi))
endif

ARCH_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
# -Wconversion -Wshadow: the same warning set the top-level Makefile uses for the core.
CFLAGS := $(ARCH_FLAGS) -Os -g -std=c11 -Wall -Wextra -Werror -Wconversion -Wshadow -ffunction-sections -fdata-sections \
          -fno-common -MMD -MP -I$(CORE_INC) -I$(PORT_DIR) $(CONFIG_FLAGS)
# newlib-nano only in case the core's code needs memcpy/memset; --gc-sections keeps just those.
LDFLAGS := $(ARCH_FLAGS) -nostartfiles --specs=nano.specs -T $(PORT_DIR)/linker.ld \
           -Wl,--gc-sections -Wl,-Map=$(BUILD_DIR)/cvm-fw.map -Wl,--no-warn-rwx-segments

PORT_SRCS := $(wildcard $(PORT_DIR)/*.c)
SRCS := $(PORT_SRCS) $(CORE_SRCS)
OBJS := $(patsubst %.c,$(BUILD_DIR)/obj/%.o,$(SRCS))

ELF := $(BUILD_DIR)/cvm-fw.elf
BIN := $(BUILD_DIR)/cvm-fw.bin
MAP := $(BUILD_DIR)/cvm-fw.map

# Names whose presence means a heap was linked in.
HEAP_RE := (^|[^A-Za-z0-9_])(malloc|free|_sbrk|_malloc_r|_free_r|_sbrk_r)([^A-Za-z0-9_]|$$)

.PHONY: all footprint echo
all: $(BIN) footprint

$(BUILD_DIR)/obj/%.o: %.c $(MAKEFILE_LIST)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(ELF): $(OBJS) $(PORT_DIR)/linker.ld
	$(CC) $(LDFLAGS) $(OBJS) -o $@
	@if $(NM) $@ | grep -Eq '$(HEAP_RE)' || grep -Eq '$(HEAP_RE)' $(MAP); then \
	  echo "error: $@ links a heap (malloc/free/_sbrk/_malloc_r); the firmware must allocate nothing:" >&2; \
	  $(NM) $@ | grep -E '$(HEAP_RE)' >&2; grep -nE '$(HEAP_RE)' $(MAP) | head -5 >&2; \
	  rm -f $@; exit 1; \
	fi

$(BIN): $(ELF)
	$(OBJCOPY) -O binary $< $@

# flash = text + data (the .data image is stored in flash); static RAM = data + bss (.noinit is
# counted in bss); the stack (linker.ld: _stack_size) comes on top of static RAM.
footprint: $(ELF)
	@set -e; \
	set -- $$($(SIZE) -B $< | tail -n 1); text=$$1; data=$$2; bss=$$3; \
	pool_hex=$$($(NM) -S $< | awk '$$3 ~ /^[bBdD]$$/ && $$4 ~ /$(POOL_SYMBOL_RE)/ { print $$2; exit }'); \
	pool=$$(( 0x$${pool_hex:-0} )); \
	ram=$$((data + bss)); \
	echo "footprint $(CONFIG) (stm32f407): text=$$text data=$$data bss=$$bss"; \
	echo "  flash used  = $$((text + data)) bytes of 1048576"; \
	echo "  static RAM  = $$ram bytes of 131072 (+ $$(( $$($(NM) $< | awk '$$3 == "_stack_size" { print "0x" $$1 }') )) stack)"; \
	if [ -n "$$pool_hex" ]; then \
	  echo "  pool        = $$pool bytes ($$((100 * pool / ram))% of static RAM; symbol /$(POOL_SYMBOL_RE)/)"; \
	else \
	  echo "  pool        = no symbol matches /$(POOL_SYMBOL_RE)/"; \
	fi; \
	libc=$$(grep -oE 'lib[a-z_]+\.a\([^)]+\)' $(MAP) | sort -u | tr '\n' ' '); \
	echo "  libraries   = $${libc:-none}"

# The raw-echo build (echo/main.c): this port's boot, USART2 driver and idle loop with no core, the
# ceiling `hil bench` measures under QEMU. Same flags, same heap check; only the port files it uses.
ECHO_SRCS := $(PORT_DIR)/echo/main.c $(addprefix $(PORT_DIR)/,startup.c clock.c leds.c systick.c fault.c usart2.c)
ECHO_OBJS := $(patsubst %.c,$(BUILD_DIR)/obj/%.o,$(ECHO_SRCS))
ECHO_ELF := $(BUILD_DIR)/cvm-echo.elf

echo: $(ECHO_ELF)
	@set -- $$($(SIZE) -B $< | tail -n 1); echo "footprint echo (stm32f407): text=$$1 data=$$2 bss=$$3"

$(ECHO_ELF): $(ECHO_OBJS) $(PORT_DIR)/linker.ld
	$(CC) $(subst cvm-fw.map,cvm-echo.map,$(LDFLAGS)) $(ECHO_OBJS) -o $@
	@if $(NM) $@ | grep -Eq '$(HEAP_RE)'; then \
	  echo "error: $@ links a heap (malloc/free/_sbrk/_malloc_r); the firmware must allocate nothing" >&2; rm -f $@; exit 1; \
	fi

-include $(OBJS:.o=.d) $(ECHO_OBJS:.o=.d)
