package im_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"mattersim/clock"
	"mattersim/im"
)

// A subscriber and a publisher wired back to back: the driver's job is to
// carry each side's ClientSend / SubSend outputs to the other and to call
// HandleTimeout at the earliest NextDeadline. A real driver also keeps the
// exchange ↔ subscription map (here there is one subscription) and feeds
// exchange failures to HandleExchangeFailed.
func ExampleSubscriptionClient() {
	light := im.NewLight(im.InteropBasicInfo(), 1)
	pub := &im.SubscriptionEngine{Server: im.NewServer(light.Node)}
	light.Node.OnChange = pub.MarkDirty

	onoff := im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff)
	sub := &im.SubscriptionClient{
		Request: *im.NewSubscribeRequest(1, 10, onoff),
		Rand:    rand.New(rand.NewPCG(1, 2)), // seeded: runs are reproducible
	}

	var subID uint32
	pump := func(now clock.Time) {
		for moved := true; moved; {
			moved = false
			for o, ok := sub.Poll(); ok; o, ok = sub.Poll() {
				moved = true
				switch o.Kind {
				case im.ClientSend:
					fmt.Printf("%v client → %s\n", now, o.Opcode)
					if o.Opcode == im.OpSubscribeRequest {
						pub.HandleSubscribeRequest(now, 1, o.Payload)
					} else {
						pub.HandleStatusResponse(now, subID, o.Payload)
					}
				case im.ClientReport:
					v, _ := o.Report.Value(onoff)
					on, _ := v.Bool()
					fmt.Printf("%v client: report, on=%v\n", now, on)
				case im.ClientEstablished:
					fmt.Printf("%v client: established, max interval %v\n", now, o.MaxInterval)
				}
			}
			for o, ok := pub.Poll(); ok; o, ok = pub.Poll() {
				moved = true
				if o.Kind == im.SubSend {
					subID = o.Subscription
					fmt.Printf("%v server → %s\n", now, o.Opcode)
					sub.HandleMessage(now, o.Opcode, o.Payload)
				}
			}
		}
	}
	now := clock.Time(0)
	// run advances virtual time to end, firing deadlines in order; a
	// deadline already past (a change made after the floor expired) fires now.
	run := func(end clock.Time) {
		for {
			next := max(min(sub.NextDeadline(), pub.NextDeadline()), now)
			if next > end {
				now = end
				return
			}
			now = next
			pub.HandleTimeout(now)
			sub.HandleTimeout(now)
			pump(now)
		}
	}

	sub.Start(now)
	pump(now)
	run(clock.Time(12 * time.Second)) // one keep-alive at 10 s
	pub.Server.Invoke(im.NewInvokeRequest(im.CommandPath{Endpoint: 1, Cluster: im.ClusterOnOff, Command: im.OnOffCmdOn}, nil))
	run(clock.Time(13 * time.Second)) // the change goes out at once: the 1 s floor has passed
	// Output:
	// 0.000000000s client → SubscribeRequest
	// 0.000000000s server → ReportData
	// 0.000000000s client → StatusResponse
	// 0.000000000s client: report, on=false
	// 0.000000000s server → SubscribeResponse
	// 0.000000000s client: established, max interval 10s
	// 10.000000000s server → ReportData
	// 10.000000000s client → StatusResponse
	// 12.000000000s server → ReportData
	// 12.000000000s client → StatusResponse
	// 12.000000000s client: report, on=true
}
