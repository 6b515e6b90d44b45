//go:build linux

package bridge

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Tap is an open Linux TAP interface (drivers/net/tun.c, IFF_TAP |
// IFF_NO_PI: every read and write is one Ethernet frame). The zero value is
// not usable; call OpenTap.
type Tap struct {
	Name    string
	f       *os.File
	created bool // OpenTap made the interface: it goes away when f closes
}

// OpenError is a TAP that cannot be opened, with the one-line reason the
// command prints.
type OpenError struct {
	Name   string
	Reason string
	Err    error
}

func (e *OpenError) Error() string { return "bridge: tap " + e.Name + ": " + e.Reason }
func (e *OpenError) Unwrap() error { return e.Err }

// Reasons OpenTap refuses.
var (
	ErrNoCapability = errors.New("needs CAP_NET_ADMIN")
	ErrMissing      = errors.New("no such interface")
	ErrNameTaken    = errors.New("name taken")
	ErrBusy         = errors.New("interface busy")
)

// OpenTap opens the TAP interface name. With create, the interface must
// not exist: it is created (not persistent, so it disappears when the Tap
// is closed or the process exits), given mtu and brought up. Without
// create it must exist already, as a TAP no other process holds (ip tuntap
// add dev NAME mode tap). Errors are *OpenError.
func OpenTap(name string, create bool, mtu int) (*Tap, error) {
	if len(name) == 0 || len(name) >= unix.IFNAMSIZ {
		return nil, &OpenError{Name: name, Reason: fmt.Sprintf("an interface name has 1 to %d bytes", unix.IFNAMSIZ-1)}
	}
	_, lerr := net.InterfaceByName(name)
	exists := lerr == nil
	switch {
	case create && exists:
		return nil, &OpenError{Name: name, Reason: "name taken: an interface of that name exists (drop --create to attach to it)", Err: ErrNameTaken}
	case !create && !exists:
		return nil, &OpenError{Name: name, Reason: "no such interface (create it with: ip tuntap add dev " + name + " mode tap, or pass --create)", Err: ErrMissing}
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return nil, &OpenError{Name: name, Reason: "cannot open /dev/net/tun: needs CAP_NET_ADMIN", Err: ErrNoCapability}
		}
		return nil, &OpenError{Name: name, Reason: "cannot open /dev/net/tun: " + err.Error(), Err: err}
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, &OpenError{Name: name, Reason: err.Error(), Err: err}
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if create {
		flags |= unix.IFF_TUN_EXCL // fail rather than attach if it appeared meanwhile
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.EPERM):
			return nil, &OpenError{Name: name, Reason: "needs CAP_NET_ADMIN (run as root or grant it: setcap cap_net_admin+ep $(which mattersim))", Err: ErrNoCapability}
		case errors.Is(err, unix.EBUSY):
			return nil, &OpenError{Name: name, Reason: "interface busy: another process holds it", Err: ErrBusy}
		case errors.Is(err, unix.EEXIST):
			return nil, &OpenError{Name: name, Reason: "name taken", Err: ErrNameTaken}
		case errors.Is(err, unix.EINVAL):
			return nil, &OpenError{Name: name, Reason: "not a TAP interface (name taken by another kind of interface)", Err: ErrNameTaken}
		}
		return nil, &OpenError{Name: name, Reason: "TUNSETIFF: " + err.Error(), Err: err}
	}
	t := &Tap{Name: name, f: os.NewFile(uintptr(fd), "/dev/net/tun:"+name), created: create}
	if create {
		if err := linkUp(name, mtu); err != nil {
			t.Close()
			return nil, &OpenError{Name: name, Reason: "bring up: " + err.Error(), Err: err}
		}
	}
	return t, nil
}

// linkUp sets the interface's MTU and brings it up (SIOCSIFMTU,
// SIOCSIFFLAGS on a throw-away datagram socket).
func linkUp(name string, mtu int) error {
	s, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if mtu > 0 {
		ifr, _ := unix.NewIfreq(name)
		ifr.SetUint32(uint32(mtu))
		if err := unix.IoctlIfreq(s, unix.SIOCSIFMTU, ifr); err != nil {
			return fmt.Errorf("set MTU %d: %w", mtu, err)
		}
	}
	ifr, _ := unix.NewIfreq(name)
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

// Created reports whether OpenTap created the interface (it is removed on
// Close).
func (t *Tap) Created() bool { return t.created }

// Read reads one Ethernet frame into b. It blocks until a frame arrives
// or the Tap is closed.
func (t *Tap) Read(b []byte) (int, error) { return t.f.Read(b) }

// Write writes one Ethernet frame.
func (t *Tap) Write(b []byte) (int, error) { return t.f.Write(b) }

// Close closes the TAP; an interface OpenTap created disappears with it.
func (t *Tap) Close() error { return t.f.Close() }
