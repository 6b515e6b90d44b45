// Package peer holds what the virtual nodes of a bridged network (package
// sim/bridge, `mattersim bridge`) do towards the real link: virtual
// devices advertise themselves over mDNS and are commissionable (Device),
// virtual controllers browse for commissionable devices and pair with or
// commission the one asked for (Controller). Everything runs on the
// engine's goroutine, on virtual time, on a sim network: nothing here
// needs a TAP, so a bridged run's controller logic also runs against a
// virtual device on the same network (the package's tests).
//
// Every line they print goes to the io.Writer they are given (the
// command's stdout); every event goes to the engine's trace
// ("bridge-discovered", "bridge-paired", "bridge-pair-failed",
// "bridge-commission-step", "bridge-commissioned",
// "bridge-commission-failed", "bridge-commission-disarm",
// "bridge-retransmit", "commissionee").
package peer

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"

	"github.com/miekg/dns"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
	"mattersim/nodes/commissionee"
	"mattersim/nodes/dnssd"
	"mattersim/session/cert"
	"mattersim/session/mrp"
	"mattersim/sim"
)

// DeviceConfig is one virtual device to advertise.
type DeviceConfig struct {
	// Node is the device's Matter node, bound to sim.MatterPort of Sim.
	// Commissionable: a commissionee.Handshaker is installed on it.
	Node *nodes.Node
	Sim  *sim.Node
	// Commissionable makes the device a commissionee.Device (in place of
	// whatever PASE responder and workload the node has).
	Commissionable bool
	Discriminator  uint16
	Passcode       uint32
	Name           string    // the TXT DN: "mattersim " + Name
	MRP            dnssd.MRP // the intervals its sessions advertise; zero fields: spec defaults
	Epoch          cert.Time // the Matter epoch time of virtual time 0
	Out            io.Writer // a line per commissioning event
}

// Device is one virtual device's mDNS responder and, when commissionable,
// its commissionee.Handshaker.
type Device struct {
	node     int
	r        *dnssd.Responder
	comm     dnssd.Commissionable
	host     dnssd.Host
	passcode uint32
	dev      *commissionee.Handshaker
	out      io.Writer
	tr       *sim.Trace
}

// Advertise gives the device of cfg an mDNS responder on port 5353
// (joined to ff02::fb) advertising _matterc._udp with its discriminator,
// the test vendor and product (0xFFF1, 0x8000) and the MRP intervals its
// sessions advertise (spec 4.3.1); the instance name is drawn from the
// node's seeded stream "dnssd/instance". A commissionable device gets a
// commissionee.Device as its node's Handshaker, with its randomness from
// the node's seeded streams; once commissioned it advertises _matter._tcp
// per fabric and withdraws _matterc._udp (dnssd goodbye), and says so on
// cfg.Out. Start starts the responder.
func Advertise(cfg DeviceConfig) (*Device, error) {
	sn := cfg.Sim
	i := sn.Index()
	mrpv := cfg.MRP
	if mrpv.Idle == 0 {
		mrpv.Idle = mrp.DefaultIdleInterval
	}
	if mrpv.Active == 0 {
		mrpv.Active = mrp.DefaultActiveInterval
	}
	if mrpv.ActiveThreshold == 0 {
		mrpv.ActiveThreshold = mrp.DefaultActiveThreshold
	}
	c := dnssd.Commissionable{
		Instance:      fmt.Sprintf("%016X", sn.Rand("dnssd/instance").Uint64()),
		Discriminator: cfg.Discriminator & 0xFFF,
		VendorID:      0xFFF1,
		ProductID:     0x8000,
		DeviceName:    "mattersim " + cfg.Name,
		Mode:          1,
		PairingHint:   33, // power cycle, device manual (spec 5.1.7.1 bits 0 and 5)
		MRP:           mrpv,
	}
	h := dnssd.Host{Name: HostName(sn), Port: sim.MatterPort, Addrs: []netip.Addr{sn.Addr(), sn.LinkLocal()}}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	ad := &Device{node: i, comm: c, host: h, passcode: cfg.Passcode, out: out, tr: sn.Network().Engine().Trace()}
	if cfg.Commissionable {
		if cfg.Node == nil {
			return nil, fmt.Errorf("node %d: commissionable without a Matter node", i)
		}
		// The SDK test attestation's vendor and product ids; the vendor
		// name the bridged devices always had.
		info := im.InteropBasicInfo()
		info.VendorName = "mattersim"
		epoch := cfg.Epoch
		var err error
		ad.dev, err = commissionee.NewHandshaker(cfg.Node, commissionee.Config{Passcode: cfg.Passcode,
			Rand: sn.Network().Engine().Seeds().ChaCha8(i, "commissionee/rand"), Epoch: func(clock.Time) cert.Time { return epoch },
			Info: info, DataVersion: uint32(sn.Rand("commissionee/dataversion").Uint64())})
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		ad.dev.Notify = func(now clock.Time, _ *nodes.Node, nt commissionee.Notice) { ad.notice(now, nt) }
	}
	ad.r = dnssd.NewResponder(c.Records(h))
	sock, err := sn.Bind(dnssd.Port, ad.r)
	if err != nil {
		return nil, err
	}
	if err := sn.JoinGroup(dnssd.Group); err != nil {
		return nil, err
	}
	ad.r.Attach(sock)
	return ad, nil
}

// Start starts the mDNS responder (its announcements).
func (ad *Device) Start(now clock.Time) { ad.r.Start(now) }

// Discriminator, Passcode and Instance are what the device advertises
// and pairs with.
func (ad *Device) Discriminator() uint16 { return ad.comm.Discriminator }

// Passcode is the device's setup passcode.
func (ad *Device) Passcode() uint32 { return ad.passcode }

// Instance is the device's _matterc._udp instance name.
func (ad *Device) Instance() string { return ad.comm.Instance }

// Handshaker is the device's commissionee (nil when not commissionable).
func (ad *Device) Handshaker() *commissionee.Handshaker { return ad.dev }

// records is what the device advertises now (AdvertisedRecords).
func (ad *Device) records() []dns.RR {
	if ad.dev == nil || ad.dev.Device() == nil {
		return ad.comm.Records(ad.host)
	}
	d := ad.dev.Device()
	var ops []dnssd.Operational
	for _, op := range d.Operational() {
		ops = append(ops, dnssd.Operational{CompressedFabricID: binary.BigEndian.Uint64(op.CompressedFabricID[:]),
			NodeID: op.NodeID, MRP: ad.comm.MRP})
	}
	return AdvertisedRecords(ad.comm, ad.host, d.WindowOpen(), ops)
}

// AdvertisedRecords is what a device on host h advertises: c's
// _matterc._udp while its commissioning window is open, one _matter._tcp
// instance per fabric in ops, and the host's AAAA records once however
// many services name the host (dnssd.Merge).
func AdvertisedRecords(c dnssd.Commissionable, h dnssd.Host, windowOpen bool, ops []dnssd.Operational) []dns.RR {
	var sets [][]dns.RR
	if windowOpen {
		sets = append(sets, c.Records(h))
	}
	for _, o := range ops {
		sets = append(sets, o.Records(h))
	}
	return dnssd.Merge(sets...)
}

// HostName is a virtual device's mDNS host name: 16 upper-case hex
// digits, as spec 4.3.4 builds it from a 64-bit MAC (connectedhomeip
// src/lib/dnssd/ServiceNaming.cpp MakeHostName hex-encodes the MAC). A
// virtual node has no MAC of its own on the TAP link (the bridge answers
// neighbour solicitations with its own), so the 64 bits come from the
// node's seeded stream "dnssd/host": stable for a seed, and unlikely to
// collide with another bridge's devices on the link.
func HostName(sn *sim.Node) string {
	return fmt.Sprintf("%016X", sn.Rand("dnssd/host").Uint64())
}

// notice prints a line per commissioning event of the device, traces
// every notice ("commissionee", with its kind and text) and updates the
// mDNS records when what the device advertises changes.
func (ad *Device) notice(now clock.Time, nt commissionee.Notice) {
	if ad.tr != nil {
		ad.tr.Event(now, ad.node, "commissionee", sim.Str("kind", nt.Kind.String()), sim.Str("text", nt.Text))
	}
	line := ""
	switch nt.Kind {
	case commissionee.NoticePASEEstablished:
		line = fmt.Sprintf("PASE session established with %s", nt.Peer)
	case commissionee.NoticeFabricAdded:
		line = fmt.Sprintf("AddNOC: fabric %d added (fabric id 0x%016X, node id 0x%016X), pending CommissioningComplete",
			nt.Fabric, nt.FabricID, nt.NodeID)
	case commissionee.NoticeCASEEstablished:
		line = fmt.Sprintf("CASE session with %s (fabric %d, peer node 0x%016X)", nt.Peer, nt.Fabric, nt.NodeID)
	case commissionee.NoticeCommissioned:
		line = fmt.Sprintf("commissioned: fabric %d node id 0x%016X", nt.Fabric, nt.NodeID)
		for _, op := range ad.dev.Device().Operational() {
			if op.Fabric == nt.Fabric {
				line += fmt.Sprintf(" (CASE reachable as %s._matter._tcp)", op.Name())
			}
		}
	case commissionee.NoticeFailSafeExpired, commissionee.NoticeFabricRemoved:
		line = nt.Text
	case commissionee.NoticeWindowClosed:
		line = fmt.Sprintf("commissioning window closed (%s): _matterc._udp withdrawn", nt.Window)
	case commissionee.NoticeWindowOpened:
		line = fmt.Sprintf("commissioning window open (%s): advertising _matterc._udp", nt.Window)
	}
	if line != "" {
		fmt.Fprintf(ad.out, "node %d %s\n", ad.node, line)
	}
	if nt.OperationalChanged() || nt.Kind == commissionee.NoticeWindowClosed || nt.Kind == commissionee.NoticeWindowOpened {
		ad.r.SetRecords(now, ad.records())
	}
}

// ControllerConfig is one virtual controller's browsing.
type ControllerConfig struct {
	Sim *sim.Node
	// PairDiscriminator >= 0: pair (PASE, a read of VendorName,
	// CloseSession) with the first device of that discriminator found,
	// with PairPasscode.
	PairDiscriminator int
	PairPasscode      uint32
	// CommissionDiscriminator >= 0: commission the first device of that
	// discriminator found, with CommissionPasscode. At most one of the two
	// is >= 0.
	CommissionDiscriminator int
	CommissionPasscode      uint32
	Epoch                   cert.Time // the Matter epoch time of virtual time 0
	Out                     io.Writer
}

// Controller is a virtual controller's mDNS browser for _matterc._udp on
// the link and the pairing or commissioning it starts.
type Controller struct {
	cfg    ControllerConfig
	mux    *dnssd.Mux
	b      *dnssd.Browser
	pairer *realPairer
}

// Browse gives the controller of cfg an mDNS browser for _matterc._udp:
// each commissionable device it hears of (a real one, or a virtual one) is
// printed and traced ("bridge-discovered", with the MRP intervals its TXT
// advertises); the device of the discriminator asked for is paired with
// or commissioned. The browsers share the controller's mDNS socket (port
// 5353, joined to ff02::fb) through a dnssd.Mux, where a commissioning
// adds its operational browser. Start starts browsing.
func Browse(cfg ControllerConfig) (*Controller, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.PairDiscriminator >= 0 && cfg.CommissionDiscriminator >= 0 {
		return nil, fmt.Errorf("peer: pairing and commissioning exclude each other")
	}
	sn := cfg.Sim
	i := sn.Index()
	tr := sn.Network().Engine().Trace()
	c := &Controller{cfg: cfg, mux: &dnssd.Mux{}}
	stdout := cfg.Out
	c.b = &dnssd.Browser{Service: dnssd.CommissionableService}
	c.b.OnFound = func(now clock.Time, from netip.AddrPort, f dnssd.Found) {
		m := f.MRP()
		fmt.Fprintf(stdout, "node %d discovered %s: D=%s CM=%s VP=%s SII=%v SAI=%v port %d addresses %v (from %s)\n",
			i, f.Instance, f.TXT["D"], f.TXT["CM"], f.TXT["VP"], m.Idle, m.Active, f.Port, f.Addrs, from.Addr())
		if tr != nil {
			tr.Event(now, i, "bridge-discovered", sim.Str("instance", f.Instance), sim.Str("from", from.Addr().String()),
				sim.Str("D", f.TXT["D"]), sim.Str("VP", f.TXT["VP"]),
				sim.Int("sii_ms", m.Idle.Milliseconds()), sim.Int("sai_ms", m.Active.Milliseconds()))
		}
		if c.pairer != nil {
			return
		}
		switch d := f.Discriminator(); {
		case cfg.PairDiscriminator >= 0 && d == cfg.PairDiscriminator:
			var err error
			if c.pairer, err = newRealPairer(sn, f, cfg.PairPasscode, stdout, tr); err != nil {
				fmt.Fprintf(stdout, "node %d cannot pair with %s: %v\n", i, f.Instance, err)
				return
			}
			c.pairer.start(now)
		case cfg.CommissionDiscriminator >= 0 && d == cfg.CommissionDiscriminator:
			var err error
			if c.pairer, err = newRealPairer(sn, f, cfg.CommissionPasscode, stdout, tr); err == nil {
				_, err = newRealCommissioner(c.pairer, sn, c.mux, cfg.Epoch)
			}
			if err != nil {
				fmt.Fprintf(stdout, "node %d cannot commission %s: %v\n", i, f.Instance, err)
				return
			}
			fmt.Fprintf(stdout, "node %d commissioning %s at %s: PASE with SII=%v SAI=%v\n", i, f.Instance, c.pairer.peer, m.Idle, m.Active)
			c.pairer.start(now)
		}
	}
	c.mux.Add(c.b)
	sock, err := sn.Bind(dnssd.Port, c.mux)
	if err != nil {
		return nil, err
	}
	if err := sn.JoinGroup(dnssd.Group); err != nil {
		return nil, err
	}
	c.mux.Attach(sock)
	return c, nil
}

// Start starts browsing.
func (c *Controller) Start(now clock.Time) { c.b.Start(now) }
