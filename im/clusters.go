package im

import (
	"mattersim/tlv"
)

// Cluster IDs (Matter Application Cluster Specification).
const (
	ClusterOnOff            uint32 = 0x0006 // app spec 1.5
	ClusterDescriptor       uint32 = 0x001D // core spec 9.5
	ClusterBasicInformation uint32 = 0x0028 // core spec 11.1
)

// Basic Information attribute IDs (core spec 11.1.5).
const (
	BasicDataModelRevision       uint32 = 0x00
	BasicVendorName              uint32 = 0x01
	BasicVendorID                uint32 = 0x02
	BasicProductName             uint32 = 0x03
	BasicProductID               uint32 = 0x04
	BasicNodeLabel               uint32 = 0x05
	BasicLocation                uint32 = 0x06
	BasicHardwareVersion         uint32 = 0x07
	BasicHardwareVersionString   uint32 = 0x08
	BasicSoftwareVersion         uint32 = 0x09
	BasicSoftwareVersionString   uint32 = 0x0A
	BasicSerialNumber            uint32 = 0x0F
	BasicUniqueID                uint32 = 0x12
	BasicCapabilityMinima        uint32 = 0x13
	BasicSpecificationVersion    uint32 = 0x15
	BasicMaxPathsPerInvoke       uint32 = 0x16
	DescriptorDeviceTypeList     uint32 = 0x00 // core spec 9.5.5
	DescriptorServerList         uint32 = 0x01
	DescriptorClientList         uint32 = 0x02
	DescriptorPartsList          uint32 = 0x03
	OnOffAttrOnOff               uint32 = 0x00 // app spec 1.5.6
	OnOffCmdOff                  uint32 = 0x00 // app spec 1.5.7
	OnOffCmdOn                   uint32 = 0x01
	OnOffCmdToggle               uint32 = 0x02
	deviceTypeRootNode           uint32 = 0x0016
	deviceTypeOnOffLight         uint32 = 0x0100
	specificationVersion1_4      uint32 = 0x01040000 // core spec 11.1.5.22 encoding: major.minor.dot.reserved
	dataModelRevision            uint16 = 17         // Matter 1.3/1.4 value of DataModelRevision
	revisionBasicInformation     uint16 = 3
	revisionDescriptor           uint16 = 2
	revisionOnOff                uint16 = 6
	revisionDeviceTypeRootNode   uint16 = 2
	revisionDeviceTypeOnOffLight uint16 = 3
)

// BasicInfo holds the Basic Information values of a virtual device. The
// zero value is usable (empty strings, zero IDs).
type BasicInfo struct {
	VendorName      string
	VendorID        uint16
	ProductName     string
	ProductID       uint16
	NodeLabel       string
	HardwareVersion uint16
	SoftwareVersion uint32
	SerialNumber    string
	UniqueID        string
}

// InteropBasicInfo returns the values of the matter.js device in
// interop/device.mjs, so a Go device answers reads exactly as it does.
func InteropBasicInfo() BasicInfo {
	return BasicInfo{
		VendorName: "InteropVendor", VendorID: 0xFFF1, ProductName: "InteropLight", ProductID: 0x8000,
		NodeLabel: "InteropLight", HardwareVersion: 0, SoftwareVersion: 0,
		SerialNumber: "interop-0001", UniqueID: "interop-0001",
	}
}

func str(s string) func(w *tlv.Writer, t tlv.Tag) {
	return func(w *tlv.Writer, t tlv.Tag) { w.PutString(t, s) }
}

func uintAttr(v uint64) func(w *tlv.Writer, t tlv.Tag) {
	return func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, v) }
}

// NewBasicInformation returns the Basic Information cluster (0x0028) with
// the attributes controllers read during and after commissioning.
func NewBasicInformation(info BasicInfo, dataVersion uint32) *Cluster {
	return &Cluster{
		ID: ClusterBasicInformation, Revision: revisionBasicInformation, DataVersion: dataVersion,
		Attributes: []Attribute{
			{BasicDataModelRevision, uintAttr(uint64(dataModelRevision))},
			{BasicVendorName, str(info.VendorName)},
			{BasicVendorID, uintAttr(uint64(info.VendorID))},
			{BasicProductName, str(info.ProductName)},
			{BasicProductID, uintAttr(uint64(info.ProductID))},
			{BasicNodeLabel, str(info.NodeLabel)},
			{BasicLocation, str("XX")},
			{BasicHardwareVersion, uintAttr(uint64(info.HardwareVersion))},
			{BasicHardwareVersionString, str("0")},
			{BasicSoftwareVersion, uintAttr(uint64(info.SoftwareVersion))},
			{BasicSoftwareVersionString, str("0")},
			{BasicSerialNumber, str(info.SerialNumber)},
			{BasicUniqueID, str(info.UniqueID)},
			{BasicCapabilityMinima, func(w *tlv.Writer, t tlv.Tag) {
				w.StartStruct(t) // CapabilityMinimaStruct, spec 11.1.4.1: spec minimums
				w.PutUint(tlv.ContextTag(0), 3)
				w.PutUint(tlv.ContextTag(1), 3)
				w.EndContainer()
			}},
			{BasicSpecificationVersion, uintAttr(uint64(specificationVersion1_4))},
			{BasicMaxPathsPerInvoke, uintAttr(1)},
		},
	}
}

// DeviceType is one DeviceTypeStruct entry of the Descriptor cluster.
type DeviceType struct {
	ID       uint32
	Revision uint16
}

// NewDescriptor returns the Descriptor cluster (0x001D) for endpoint ep of
// n. ServerList and PartsList are computed from n at read time, so add the
// descriptor before or after the other clusters as convenient.
func NewDescriptor(n *Node, ep uint16, types []DeviceType, dataVersion uint32) *Cluster {
	return &Cluster{
		ID: ClusterDescriptor, Revision: revisionDescriptor, DataVersion: dataVersion,
		Attributes: []Attribute{
			{DescriptorDeviceTypeList, func(w *tlv.Writer, t tlv.Tag) {
				w.StartArray(t)
				for _, d := range types {
					w.StartStruct(tlv.AnonymousTag())
					w.PutUint(tlv.ContextTag(0), uint64(d.ID))
					w.PutUint(tlv.ContextTag(1), uint64(d.Revision))
					w.EndContainer()
				}
				w.EndContainer()
			}},
			{DescriptorServerList, func(w *tlv.Writer, t tlv.Tag) {
				var ids []uint32
				if e := n.Endpoint(ep); e != nil {
					for _, c := range e.Clusters {
						ids = append(ids, c.ID)
					}
				}
				putUintArray(w, t, ids)
			}},
			{DescriptorClientList, func(w *tlv.Writer, t tlv.Tag) { putUintArray(w, t, nil) }},
			{DescriptorPartsList, func(w *tlv.Writer, t tlv.Tag) {
				var ids []uint32
				if ep == 0 { // spec 9.5.5.4: the root lists every other endpoint
					for _, e := range n.Endpoints {
						if e.ID != 0 {
							ids = append(ids, uint32(e.ID))
						}
					}
				}
				putUintArray(w, t, ids)
			}},
		},
	}
}

// Light is a virtual On/Off Light: endpoint 0 (Root Node: Descriptor,
// Basic Information) and endpoint 1 (On/Off Light: Descriptor, On/Off).
// It is not safe for concurrent use.
type Light struct {
	Node  *Node
	on    bool
	onOff *Cluster
}

// NewLight builds the light. dataVersion seeds every cluster's DataVersion
// (spec 7.10.3 asks for a random start; callers pass a seeded value so runs
// are reproducible).
func NewLight(info BasicInfo, dataVersion uint32) *Light {
	l := &Light{Node: &Node{}}
	n := l.Node
	root := &Endpoint{ID: 0}
	root.AddCluster(NewDescriptor(n, 0, []DeviceType{{deviceTypeRootNode, revisionDeviceTypeRootNode}}, dataVersion))
	root.AddCluster(NewBasicInformation(info, dataVersion))
	n.AddEndpoint(root)

	ep1 := &Endpoint{ID: 1}
	ep1.AddCluster(NewDescriptor(n, 1, []DeviceType{{deviceTypeOnOffLight, revisionDeviceTypeOnOffLight}}, dataVersion))
	l.onOff = &Cluster{
		ID: ClusterOnOff, Revision: revisionOnOff, DataVersion: dataVersion,
		Attributes: []Attribute{
			{OnOffAttrOnOff, func(w *tlv.Writer, t tlv.Tag) { w.PutBool(t, l.on) }},
		},
		Commands: []Command{
			{ID: OnOffCmdOff, Invoke: func(Value) Status { l.set(false); return StatusSuccess }},
			{ID: OnOffCmdOn, Invoke: func(Value) Status { l.set(true); return StatusSuccess }},
			{ID: OnOffCmdToggle, Invoke: func(Value) Status { l.set(!l.on); return StatusSuccess }},
		},
	}
	ep1.AddCluster(l.onOff)
	n.AddEndpoint(ep1)
	return l
}

// On reports whether the light is on.
func (l *Light) On() bool { return l.on }

// set changes the OnOff attribute; the DataVersion moves only on a real
// change (spec 7.10.3).
func (l *Light) set(on bool) {
	if l.on == on {
		return
	}
	l.on = on
	l.onOff.DataVersion++
	if l.Node.OnChange != nil {
		l.Node.OnChange(ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff))
	}
}
