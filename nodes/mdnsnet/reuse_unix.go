//go:build unix

package mdnsnet

import "golang.org/x/sys/unix"

// reuseAddrPort lets several processes bind the mDNS port (RFC 6762
// section 15.1).
func reuseAddrPort(fd uintptr) error {
	if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return err
	}
	return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
}
