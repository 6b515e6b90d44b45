package im

import "testing"

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
