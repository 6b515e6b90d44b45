package im

import (
	"strconv"
	"testing"
	"time"

	"mattersim/clock"
)

func BenchmarkServerReadVendorName(b *testing.B) {
	l := NewLight(InteropBasicInfo(), 1)
	s := NewServer(l.Node)
	req := AppendReadRequest(nil, NewReadRequest(ConcreteAttribute(0, ClusterBasicInformation, BasicVendorName)))
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		_, buf, _ = s.Handle(buf[:0], OpReadRequest, req)
	}
}

func BenchmarkServerInvokeToggle(b *testing.B) {
	l := NewLight(InteropBasicInfo(), 1)
	s := NewServer(l.Node)
	req := AppendInvokeRequest(nil, NewInvokeRequest(CommandPath{1, ClusterOnOff, OnOffCmdToggle}, nil))
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		_, buf, _ = s.Handle(buf[:0], OpInvokeRequest, req)
	}
}

func BenchmarkDecodeReportData(b *testing.B) {
	v := loadVectors(b)["report_data_vendor_name_matterjs"].payload
	var m ReportData
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeReportData(v, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubscriptionReport measures the publisher's report generation:
// one HandleTimeout that turns the dirty attributes of an established
// wildcard subscription into ReportData (chunked when needed), plus the
// StatusResponses that complete it. ns/attr is the cost per dirty
// attribute.
func BenchmarkSubscriptionReport(b *testing.B) {
	l := NewLight(InteropBasicInfo(), 1)
	var all []AttributePath
	for _, e := range l.Node.Endpoints {
		for _, c := range e.Clusters {
			for _, id := range c.attributeIDs() {
				all = append(all, ConcreteAttribute(e.ID, c.ID, id))
			}
		}
	}
	for _, n := range []int{1, 8, len(all)} {
		dirty := all[len(all)-n:] // the last n: one cluster's globals first, then more
		name := "dirty=" + strconv.Itoa(n)
		b.Run(name, func(b *testing.B) {
			e := &SubscriptionEngine{Server: NewServer(l.Node)}
			e.HandleSubscribeRequest(0, 1, AppendSubscribeRequest(nil, NewSubscribeRequest(0, 60, AttributePathWildcard())))
			ack := AppendStatusResponse(nil, &StatusResponse{Status: StatusSuccess, Revision: Revision})
			for {
				o, ok := e.Poll()
				if !ok {
					break
				}
				if o.ExpectResponse {
					e.HandleStatusResponse(0, o.Subscription, ack)
				}
			}
			id := e.Subscriptions()[0].ID
			now := clock.Time(0)
			bytes := 0
			b.ReportAllocs()
			for b.Loop() {
				now += clock.Time(time.Second)
				for _, p := range dirty {
					e.MarkDirty(p)
				}
				e.HandleTimeout(now)
				for {
					o, ok := e.Poll()
					if !ok {
						break
					}
					bytes += len(o.Payload)
					if o.ExpectResponse {
						e.HandleStatusResponse(now, id, ack)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/attr")
			b.ReportMetric(float64(bytes)/float64(b.N), "B/report")
		})
	}
}
