#include "CLinuxInput.h"
#include <errno.h>
#include <linux/input.h>
#include <sys/ioctl.h>

int cli_evdev_grab(int fd, int grab) {
    return ioctl(fd, EVIOCGRAB, grab) == 0 ? 0 : -errno;
}

int cli_evdev_get_keys(int fd, uint8_t *bits, size_t len) {
    return ioctl(fd, EVIOCGKEY(len), bits) >= 0 ? 0 : -errno;
}

size_t cli_evdev_key_bytes(void) {
    return KEY_MAX / 8 + 1;
}
