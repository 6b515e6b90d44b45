package session

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"mattersim/clock"
)

// TestInteraction runs the MRP and session timelines in testdata/*.txt
// (style of etcd raft's interaction tests). Directives:
//
//	pair [jitter=<r>] [seed=<n>] [max-tx=<n>]   two nodes a (initiator) and b sharing a PASE session
//	send <node> [ex=new|last|<name>] [name=<x>] [reliable] [len=<n>] [op=<hex>]
//	deliver [n=<k>]     deliver the k oldest in-flight datagrams (default all)
//	drop [n=<k>]        drop the k oldest in-flight datagrams (default 1)
//	dup                 deliver the oldest in-flight datagram but keep a copy in flight
//	advance <dur>       run both nodes' timers up to now+dur, in time order
//	close-exchange <node> [ex=last|<name>]
//	close-session <node>
//	state <node>
//
// Output lines are "<virtual time> <node>: <output>"; datagrams are decoded
// (counter, exchange, flags, ack counter, protocol, opcode).
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var env *ddEnv
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "pair" && env == nil {
				t.Fatalf("%s: pair first", d.Pos)
			}
			if d.Cmd == "pair" {
				env = newDDEnv(t, d)
				return env.flush()
			}
			return env.handle(t, d)
		})
	})
}

type inflight struct {
	from, to *node
	data     []byte
}

type ddEnv struct {
	p       *pair
	flight  []inflight
	named   map[string]Exchange
	out     strings.Builder
	lastEvt map[*node]Exchange
}

func newDDEnv(t *testing.T, d *datadriven.TestData) *ddEnv {
	jitter := rand.Source(jitterHalf)
	seed := uint64(1)
	cfg := Config{}
	for _, a := range d.CmdArgs {
		switch a.Key {
		case "jitter":
			f, err := strconv.ParseFloat(a.Vals[0], 64)
			if err != nil {
				t.Fatal(err)
			}
			jitter = constSource(uint64(f * (1 << 53)))
		case "seed":
			seed, _ = strconv.ParseUint(a.Vals[0], 10, 64)
		case "max-tx":
			cfg.MRP.MaxTransmissions, _ = strconv.Atoi(a.Vals[0])
		default:
			t.Fatalf("%s: unknown arg %s", d.Pos, a.Key)
		}
	}
	e := &ddEnv{p: newPair(t, cfg, seed, func() rand.Source { return jitter }), named: map[string]Exchange{}, lastEvt: map[*node]Exchange{}}
	return e
}

func (e *ddEnv) node(t *testing.T, d *datadriven.TestData, name string) *node {
	switch name {
	case "a":
		return e.p.a
	case "b":
		return e.p.b
	}
	t.Fatalf("%s: unknown node %q", d.Pos, name)
	return nil
}

// flush drains both nodes into the trace and the in-flight list.
func (e *ddEnv) flush() string {
	for _, n := range []*node{e.p.a, e.p.b} {
		for {
			o, ok := n.m.Poll()
			if !ok {
				break
			}
			if o.IsDatagram() {
				to := e.p.peer(n)
				e.flight = append(e.flight, inflight{from: n, to: to, data: append([]byte(nil), o.Data...)})
				fmt.Fprintf(&e.out, "%s %s: send %s->%s %s\n", e.p.now, n.name, n.name, to.name, describe(n, o.Data))
				continue
			}
			if o.Event.Kind == EventMessage {
				e.lastEvt[n] = o.Event.Exchange
			}
			fmt.Fprintf(&e.out, "%s %s: %s\n", e.p.now, n.name, o.Event)
		}
	}
	s := e.out.String()
	e.out.Reset()
	if s == "" {
		return "ok\n"
	}
	return s
}

func (e *ddEnv) handle(t *testing.T, d *datadriven.TestData) string {
	p := e.p
	switch d.Cmd {
	case "send":
		n := e.node(t, d, d.CmdArgs[0].Key)
		msg := Message{Protocol: 0x0004, Opcode: 1}
		exName, name := "new", ""
		size := 0
		for _, a := range d.CmdArgs[1:] {
			switch a.Key {
			case "ex":
				exName = a.Vals[0]
			case "name":
				name = a.Vals[0]
			case "reliable":
				msg.Reliable = true
			case "len":
				size, _ = strconv.Atoi(a.Vals[0])
			case "op":
				v, _ := strconv.ParseUint(a.Vals[0], 0, 8)
				msg.Opcode = uint8(v)
			default:
				t.Fatalf("%s: unknown arg %s", d.Pos, a.Key)
			}
		}
		msg.Payload = make([]byte, size)
		var x Exchange
		switch exName {
		case "new":
			var err error
			if x, err = n.m.NewExchange(n.ref); err != nil {
				return "error: " + err.Error() + "\n"
			}
		case "last":
			x = e.lastEvt[n]
		default:
			x = e.named[exName]
		}
		if name != "" {
			e.named[name] = x
		}
		if err := n.m.Send(p.now, x, msg); err != nil {
			fmt.Fprintf(&e.out, "error: %v\n", err)
		}
		return e.flush()
	case "deliver", "drop", "dup":
		k := 1
		if d.Cmd == "deliver" {
			k = len(e.flight)
		}
		for _, a := range d.CmdArgs {
			if a.Key == "n" {
				k, _ = strconv.Atoi(a.Vals[0])
			}
		}
		for i := 0; i < k && len(e.flight) > 0; i++ {
			f := e.flight[0]
			if d.Cmd != "dup" {
				e.flight = e.flight[1:]
			}
			if d.Cmd == "drop" {
				fmt.Fprintf(&e.out, "%s dropped %s->%s %s\n", p.now, f.from.name, f.to.name, describe(f.from, f.data))
				continue
			}
			f.to.m.HandleDatagram(p.now, f.from.addr, f.data)
			e.out.WriteString(e.flush())
		}
		return e.flush()
	case "advance":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatalf("%s: %v", d.Pos, err)
		}
		end := p.now.Add(dur)
		for {
			next, who := clock.Never, (*node)(nil)
			for _, n := range []*node{p.a, p.b} {
				if dl := n.m.NextDeadline(); dl < next {
					next, who = dl, n
				}
			}
			if who == nil || next > end {
				break
			}
			p.now = next
			who.m.HandleTimeout(p.now)
			e.out.WriteString(e.flush())
		}
		p.now = end
		return e.flush()
	case "close-exchange":
		n := e.node(t, d, d.CmdArgs[0].Key)
		x := e.lastEvt[n]
		for _, a := range d.CmdArgs[1:] {
			if a.Key == "ex" && a.Vals[0] != "last" {
				x = e.named[a.Vals[0]]
			}
		}
		if err := n.m.CloseExchange(p.now, x); err != nil {
			fmt.Fprintf(&e.out, "error: %v\n", err)
		}
		return e.flush()
	case "close-session":
		n := e.node(t, d, d.CmdArgs[0].Key)
		if err := n.m.CloseSession(p.now, n.ref); err != nil {
			fmt.Fprintf(&e.out, "error: %v\n", err)
		}
		return e.flush()
	case "state":
		n := e.node(t, d, d.CmdArgs[0].Key)
		in, ok := n.m.SessionInfo(n.ref)
		if !ok {
			return fmt.Sprintf("%s: no session %s; next deadline %s\n", n.name, n.ref, n.m.NextDeadline())
		}
		return fmt.Sprintf("%s: %s peer=%s next-ctr=%#x window=%#x/%#08x exchanges=%d pending=%d give-ups=%d deadline=%s\n",
			n.name, in.Ref, in.Peer, in.NextCounter, in.WindowMax, in.WindowBits, in.Exchanges, in.Pending, in.GiveUps, n.m.NextDeadline())
	}
	t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	return ""
}
