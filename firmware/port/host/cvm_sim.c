/*
 * cvm-sim: the portable core built for a POSIX host, implementing cvm_port.h.
 *
 *   cvm-sim --pty [--boot-on-stdin] [--exit-on-stdin-eof] [--nonce HEX] [--no-unique-id]
 *   cvm-sim --stdio [--nonce HEX] [--no-unique-id]
 *
 * --pty    creates a pseudo-terminal, prints "PTY <slave path>" on stdout, writes the boot banner
 *          to it and serves requests until SIGTERM or SIGINT (exit 0), or until stdin reaches EOF
 *          with --exit-on-stdin-eof. The slave is put in raw mode and the sim keeps its own slave
 *          descriptor open, so what it writes before a host opens the path (the banner) waits in
 *          the terminal's buffer instead of being lost, and a host may close and reopen the path.
 *          With --boot-on-stdin the sim stays "in reset" after printing the path: it boots (starts
 *          its uptime, writes the banner, serves) when a line arrives on stdin, so a host that
 *          opens the pty first (opening may discard bytes already waiting) sees the banner, as a
 *          board's host does after releasing reset and QEMU's after resuming a halted machine.
 *          EOF on stdin before that line exits 0. Every later line on stdin is a reset pulse:
 *          the sim reboots (a new nonce: random, or the given one + 1; uptime from 0; reset cause
 *          "pin"; the unique id stays), writes a new banner and serves a fresh pool, as a board
 *          whose reset line the host pulls.
 * --stdio  reads request bytes from stdin and writes the banner and response lines to stdout;
 *          exits 0 at EOF once everything is written.
 *
 * The port: uptime from CLOCK_MONOTONIC since the boot; reset cause "power_on" ("pin" after a reset
 * pulse); boot nonce from
 * --nonce (1..8 hex digits) or getrandom(); unique id = "sim-" ‖ nonce (big-endian) ‖ ~nonce
 * (big-endian), 12 bytes, or none with --no-unique-id; rx_overruns is always 0 (the sim reads
 * its input as it comes, it has no receive ring to overflow).
 *
 * Errors (bad option, pty failure, I/O failure) print what failed on stderr and exit 2.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cvm_device.h"
#include "cvm_port.h"

static struct {
    bool stdio_mode;
    int out_fd;                 /* pty master in --pty mode */
    uint32_t nonce;
    bool nonce_given;           /* --nonce: a reset pulse gives nonce + 1, not a random one */
    uint32_t id_seed;           /* the first nonce: the unique id survives a reset */
    cvm_reset_cause cause;
    bool unique_id;
    struct timespec start;
} sim = {.cause = CVM_RESET_POWER_ON};

static volatile sig_atomic_t sim_stop;

static void sim_fail(const char *what, int err)
{
    if (err != 0) {
        fprintf(stderr, "cvm-sim: %s: %s\n", what, strerror(err));
    } else {
        fprintf(stderr, "cvm-sim: %s\n", what);
    }
    exit(2);
}

/* ---- cvm_port.h ---- */

void cvm_port_write(const uint8_t *data, size_t len)
{
    if (sim.stdio_mode) {
        if (fwrite(data, 1, len, stdout) != len) {
            sim_fail("writing to stdout failed", errno);
        }
        return;
    }
    while (len > 0u) {
        ssize_t n = write(sim.out_fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = sim.out_fd, .events = POLLOUT};
                (void)poll(&p, 1, -1);
                continue;
            }
            sim_fail("writing to the pty failed", errno);
        }
        data += n;
        len -= (size_t)n;
    }
}

uint32_t cvm_port_uptime_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - sim.start.tv_sec) * 1000 +
                 (now.tv_nsec - sim.start.tv_nsec) / 1000000;
    return (uint32_t)ms;
}

cvm_reset_cause cvm_port_reset_cause(void)
{
    return sim.cause;
}

size_t cvm_port_unique_id(uint8_t out[12])
{
    if (!sim.unique_id) {
        return 0;
    }
    const uint32_t n = sim.id_seed;
    const uint32_t m = ~n;
    out[0] = 's';
    out[1] = 'i';
    out[2] = 'm';
    out[3] = '-';
    for (int i = 0; i < 4; i++) {
        out[4 + i] = (uint8_t)(n >> (24 - 8 * i));
        out[8 + i] = (uint8_t)(m >> (24 - 8 * i));
    }
    return 12;
}

uint32_t cvm_port_boot_nonce(void)
{
    return sim.nonce;
}

uint32_t cvm_port_rx_overruns(void)
{
    return 0;
}

const char *cvm_port_name(void)
{
    return "sim";
}

/* ---- the program ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: cvm-sim --pty [--boot-on-stdin] [--exit-on-stdin-eof] [--nonce HEX] [--no-unique-id]\n"
               "       cvm-sim --stdio [--nonce HEX] [--no-unique-id]\n");
}

static void on_signal(int sig)
{
    (void)sig;
    sim_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR and the loop sees the flag */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
        sim_fail("sigaction failed", errno);
    }
    signal(SIGPIPE, SIG_IGN);
}

static int run_stdio(void)
{
    static uint8_t buf[4096];
    static char outbuf[65536];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    cvm_device_init();
    cvm_device_banner();
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n > 0) {
            cvm_device_feed(buf, (size_t)n);
            if (fflush(stdout) != 0) {
                sim_fail("writing to stdout failed", errno);
            }
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            sim_fail("reading stdin failed", errno);
        }
    }
    if (fflush(stdout) != 0) {
        sim_fail("writing to stdout failed", errno);
    }
    return 0;
}

/* Blocks until a line (or EOF) arrives on stdin: the host's "release reset". Returns false on EOF. */
static bool wait_for_boot_line(void)
{
    char c;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n == 1 && c == '\n') {
            return true;
        }
        if (n == 0) {
            return false;
        }
        if (n < 0 && errno != EINTR) {
            sim_fail("reading stdin (waiting to boot) failed", errno);
        }
        if (sim_stop) {
            return false;
        }
    }
}

/* A reset pulse (a line on stdin after the boot): reboot as a board does, with a new banner. */
static void sim_reset(void)
{
    if (sim.nonce_given) {
        sim.nonce += 1u;
    } else if (getrandom(&sim.nonce, sizeof sim.nonce, 0) != (ssize_t)sizeof sim.nonce) {
        sim_fail("getrandom failed (use --nonce HEX)", errno);
    }
    sim.cause = CVM_RESET_PIN;
    clock_gettime(CLOCK_MONOTONIC, &sim.start);
    cvm_device_init();
    cvm_device_banner();
}

static int run_pty(bool exit_on_stdin_eof, bool boot_on_stdin)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        sim_fail("posix_openpt failed", errno);
    }
    if (grantpt(master) != 0) {
        sim_fail("grantpt failed", errno);
    }
    if (unlockpt(master) != 0) {
        sim_fail("unlockpt failed", errno);
    }
    const char *name = ptsname(master);
    if (name == NULL) {
        sim_fail("ptsname failed", errno);
    }
    char path[256];
    snprintf(path, sizeof path, "%s", name);
    int slave = open(path, O_RDWR | O_NOCTTY);
    if (slave < 0) {
        sim_fail("opening the pty slave failed", errno);
    }
    struct termios t;
    if (tcgetattr(slave, &t) != 0) {
        sim_fail("tcgetattr on the pty slave failed", errno);
    }
    cfmakeraw(&t);
    if (tcsetattr(slave, TCSANOW, &t) != 0) {
        sim_fail("tcsetattr (raw mode) on the pty slave failed", errno);
    }
    sim.out_fd = master;

    install_signals();
    printf("PTY %s\n", path);
    if (fflush(stdout) != 0) {
        sim_fail("writing to stdout failed", errno);
    }
    if (boot_on_stdin) {
        if (!wait_for_boot_line()) {
            close(slave);
            close(master);
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &sim.start); /* uptime counts from the boot */
    }
    cvm_device_init();
    cvm_device_banner();

    static uint8_t buf[4096];
    struct pollfd fds[2] = {{.fd = master, .events = POLLIN},
                            {.fd = STDIN_FILENO, .events = POLLIN}};
    /* stdin: EOF ends the sim (--exit-on-stdin-eof); a line is a reset pulse (--boot-on-stdin). */
    nfds_t nfds = (exit_on_stdin_eof || boot_on_stdin) ? 2u : 1u;
    while (!sim_stop) {
        int r = poll(fds, nfds, -1);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            sim_fail("poll failed", errno);
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 0) {
                cvm_device_feed(buf, (size_t)n);
            } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
                sim_fail("reading the pty failed", errno);
            }
        }
        if (nfds == 2u && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                if (exit_on_stdin_eof) {
                    break; /* stdin closed: the parent is gone */
                }
                nfds = 1u; /* nothing more to read there */
            } else if (n > 0 && boot_on_stdin && memchr(buf, '\n', (size_t)n) != NULL) {
                sim_reset();
            }
        }
    }
    close(slave);
    close(master);
    return 0;
}

static bool parse_nonce(const char *s, uint32_t *out)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    size_t n = strlen(s);
    if (n == 0u || n > 8u || strspn(s, "0123456789abcdefABCDEF") != n) {
        return false;
    }
    *out = (uint32_t)strtoul(s, NULL, 16);
    return true;
}

int main(int argc, char **argv)
{
    bool pty = false;
    bool stdio_mode = false;
    bool exit_on_eof = false;
    bool boot_on_stdin = false;
    bool have_nonce = false;

    sim.unique_id = true;
    clock_gettime(CLOCK_MONOTONIC, &sim.start);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--pty") == 0) {
            pty = true;
        } else if (strcmp(a, "--stdio") == 0) {
            stdio_mode = true;
        } else if (strcmp(a, "--exit-on-stdin-eof") == 0) {
            exit_on_eof = true;
        } else if (strcmp(a, "--boot-on-stdin") == 0) {
            boot_on_stdin = true;
        } else if (strcmp(a, "--no-unique-id") == 0) {
            sim.unique_id = false;
        } else if (strcmp(a, "--nonce") == 0) {
            if (i + 1 >= argc) {
                sim_fail("--nonce needs a value (1..8 hex digits)", 0);
            }
            if (!parse_nonce(argv[++i], &sim.nonce)) {
                fprintf(stderr, "cvm-sim: --nonce '%s' is not 1..8 hex digits\n", argv[i]);
                exit(2);
            }
            have_nonce = true;
            sim.nonce_given = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "cvm-sim: unknown option '%s'\n", a);
            usage(stderr);
            exit(2);
        }
    }
    if (pty == stdio_mode) {
        fprintf(stderr, "cvm-sim: give exactly one of --pty and --stdio\n");
        usage(stderr);
        exit(2);
    }
    if (exit_on_eof && !pty) {
        sim_fail("--exit-on-stdin-eof applies to --pty only", 0);
    }
    if (boot_on_stdin && !pty) {
        sim_fail("--boot-on-stdin applies to --pty only", 0);
    }
    if (!have_nonce) {
        if (getrandom(&sim.nonce, sizeof sim.nonce, 0) != (ssize_t)sizeof sim.nonce) {
            sim_fail("getrandom failed (use --nonce HEX)", errno);
        }
    }
    sim.id_seed = sim.nonce;
    sim.stdio_mode = stdio_mode;
    return pty ? run_pty(exit_on_eof, boot_on_stdin) : run_stdio();
}
