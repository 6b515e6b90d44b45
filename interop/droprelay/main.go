// Command droprelay is a userspace UDP relay for the interop tests: it
// forwards Matter datagrams between one client and a device and drops the
// client's first acknowledgement of each PASE-final StatusReport the
// device sends (an unsecured, reliable Secure Channel StatusReport with
// general status SUCCESS, spec 4.14.1.4). It stands in for netem, which
// this machine's kernel lacks, to reproduce a lost final PASE ack: the
// device must then retransmit its StatusReport and the client must still
// answer it. It prints one line per drop ("dropped ack ctr=0x...") and one
// when the client acks that report again and the ack is let through
// ("passed ack ctr=0x..."), which the test waits for and counts.
//
// Usage: droprelay -listen [::1]:5541 -to [::1]:5540
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"sync"

	"mattersim/session/message"
	"mattersim/session/status"
)

func main() {
	listen := flag.String("listen", "[::1]:5541", "address the client sends to")
	to := flag.String("to", "[::1]:5540", "the device's address")
	flag.Parse()
	dev, err := netip.ParseAddrPort(*to)
	if err != nil {
		log.Fatalf("droprelay: -to: %v", err)
	}
	front, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(*listen)))
	if err != nil {
		log.Fatalf("droprelay: %v", err)
	}
	r := &relay{front: front, dev: dev, back: map[netip.AddrPort]*net.UDPConn{}, final: map[uint32]ackState{}}
	fmt.Println("droprelay: listening on", front.LocalAddr())
	r.serve()
}

type relay struct {
	front *net.UDPConn
	dev   netip.AddrPort
	mu    sync.Mutex
	back  map[netip.AddrPort]*net.UDPConn // per client, towards the device
	final map[uint32]ackState             // counters of final StatusReports
}

func (r *relay) serve() {
	buf := make([]byte, 2048)
	for {
		n, from, err := r.front.ReadFromUDPAddrPort(buf)
		if err != nil {
			log.Fatalf("droprelay: %v", err)
		}
		b := append([]byte(nil), buf[:n]...)
		switch ctr, verdict := r.finalAck(b); verdict {
		case drop:
			fmt.Printf("dropped ack ctr=%#x\n", ctr)
			os.Stdout.Sync()
			continue
		case pass:
			fmt.Printf("passed ack ctr=%#x\n", ctr)
			os.Stdout.Sync()
		}
		r.backFor(from).WriteToUDPAddrPort(b, r.dev)
	}
}

func (r *relay) backFor(client netip.AddrPort) *net.UDPConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.back[client]; c != nil {
		return c
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		log.Fatalf("droprelay: %v", err)
	}
	r.back[client] = c
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			b := buf[:n]
			if ctr, ok := finalStatus(b); ok {
				r.mu.Lock()
				if _, seen := r.final[ctr]; !seen {
					r.final[ctr] = toDrop
				}
				r.mu.Unlock()
			}
			r.front.WriteToUDPAddrPort(b, client)
		}
	}()
	return c
}

// unsecured decodes an unsecured datagram's headers.
func unsecured(b []byte) (message.Header, message.ProtocolHeader, []byte, bool) {
	var h message.Header
	n, err := h.Decode(b)
	if err != nil || h.IsSecure() {
		return h, message.ProtocolHeader{}, nil, false
	}
	var ph message.ProtocolHeader
	pn, err := ph.Decode(b[n:])
	if err != nil {
		return h, ph, nil, false
	}
	return h, ph, b[n+pn:], true
}

// finalStatus reports a reliable unsecured StatusReport SUCCESS (the
// device's last PASE message) and its counter.
func finalStatus(b []byte) (uint32, bool) {
	h, ph, payload, ok := unsecured(b)
	if !ok || !ph.Is(message.ProtocolSecureChannel, message.OpStatusReport) || !ph.Flags.Reliable() {
		return 0, false
	}
	rep, err := status.Decode(payload)
	if err != nil || rep.General != status.GeneralSuccess {
		return 0, false
	}
	return h.Counter, true
}

type ackState uint8

const (
	toDrop  ackState = iota + 1 // the first ack is still to come
	dropped                     // the first ack was dropped
	passed                      // a later ack went through
)

type verdict uint8

const (
	forward verdict = iota
	drop
	pass
)

// finalAck classifies a client datagram: the first ack of a final
// StatusReport is dropped, the next one is passed (and reported).
func (r *relay) finalAck(b []byte) (uint32, verdict) {
	_, ph, _, ok := unsecured(b)
	if !ok || !ph.Flags.Ack() {
		return 0, forward
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.final[ph.AckCounter] {
	case toDrop:
		r.final[ph.AckCounter] = dropped
		return ph.AckCounter, drop
	case dropped:
		r.final[ph.AckCounter] = passed
		return ph.AckCounter, pass
	}
	return 0, forward
}
