//go:build !unix

package main

// reuseAddrPort is a no-op where the port cannot be shared this way; the
// bind then fails if another responder holds 5353, and the device runs
// without mDNS.
func reuseAddrPort(uintptr) error { return nil }
