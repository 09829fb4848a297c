#ifndef CLINUXINPUT_H
#define CLINUXINPUT_H
#include <stddef.h>
#include <stdint.h>

/// ioctl(2) is variadic and cannot be called from Swift; these are its uses for evdev.
/// Each returns 0 or -errno.

/// EVIOCGRAB: grab (1) or release (0) an evdev device.
int cli_evdev_grab(int fd, int grab);
/// EVIOCGKEY: the key state bitmap (KEY_MAX/8+1 bytes fit in `len`).
int cli_evdev_get_keys(int fd, uint8_t *bits, size_t len);
/// Bytes needed for a key bitmap.
size_t cli_evdev_key_bytes(void);

#endif
