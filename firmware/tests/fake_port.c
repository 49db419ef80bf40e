#include "fake_port.h"

#include <string.h>

uint8_t fake_port_out[FAKE_PORT_CAPTURE];
size_t fake_port_out_len;
unsigned fake_port_writes;
uint32_t fake_port_nonce;
uint32_t fake_port_uptime;
cvm_reset_cause fake_port_cause;
size_t fake_port_uid_len;
uint32_t fake_port_overruns;
const char *fake_port_name;

void fake_port_clear(void)
{
    fake_port_out_len = 0;
    fake_port_writes = 0;
}

void fake_port_reset(void)
{
    fake_port_clear();
    fake_port_nonce = 0x12345678u;
    fake_port_uptime = 1000u;
    fake_port_cause = CVM_RESET_POWER_ON;
    fake_port_uid_len = 12u;
    fake_port_overruns = 0u;
    fake_port_name = "test";
}

void cvm_port_write(const uint8_t *data, size_t len)
{
    fake_port_writes++;
    size_t room = FAKE_PORT_CAPTURE - fake_port_out_len;
    if (len > room) {
        len = room;
    }
    memcpy(fake_port_out + fake_port_out_len, data, len);
    fake_port_out_len += len;
}

uint32_t cvm_port_uptime_ms(void)
{
    return fake_port_uptime;
}

cvm_reset_cause cvm_port_reset_cause(void)
{
    return fake_port_cause;
}

size_t cvm_port_unique_id(uint8_t out[12])
{
    if (fake_port_uid_len != 12u) {
        return 0;
    }
    for (uint8_t i = 0; i < 12u; i++) {
        out[i] = (uint8_t)(i + 1u);
    }
    return 12;
}

uint32_t cvm_port_boot_nonce(void)
{
    return fake_port_nonce;
}

uint32_t cvm_port_rx_overruns(void)
{
    return fake_port_overruns;
}

const char *cvm_port_name(void)
{
    return fake_port_name;
}
