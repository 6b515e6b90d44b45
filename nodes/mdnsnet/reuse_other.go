//go:build !unix

package mdnsnet

// reuseAddrPort is a no-op where the port cannot be shared this way; the
// bind then fails if another responder holds 5353.
func reuseAddrPort(uintptr) error { return nil }
