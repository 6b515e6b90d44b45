// Package commissionee is the device side of Matter commissioning, sans
// I/O: a commissionable on/off light (im.NewCommissionableLight) that a
// real or virtual commissioner can pair with over PASE (spec 4.14.1,
// nodes/pairing.Responder), commission over the commissioning clusters
// (im.Commissioning over an im/fabrics.Store, with the SDK test DAC, PAI
// and CD), reach over CASE (spec 4.14.2, session/casesess, with
// resumption) and use over the Interaction Model: reads, writes,
// invokes, chunked reports, Timed interactions and subscriptions
// (im.SubscriptionEngine).
//
// A Device runs on a caller's *session.Manager. The caller feeds it the
// Manager's events (HandleEvent) and its timeouts (HandleTimeout at
// Deadline); every input carries now. There are no goroutines, no wall
// clock and no global randomness inside: randomness comes from
// Config.Rand and certificate times from Config.Epoch. `mattersim device`
// drives one on a real UDP socket (nodes/udp); NewHandshaker puts one on
// a simulated node (nodes.Node), which is how `mattersim bridge` makes
// its virtual devices commissionable.
//
// What the caller has to act on comes out of Poll as typed Notices: the
// log lines (Notice.Text) and the events that change what the device
// advertises by DNS-SD: a fabric added or gone (Operational lists the
// _matter._tcp instances, spec 4.3.2.1) and the commissioning window
// closing or re-opening (the _matterc._udp record, spec 4.3.1).
//
// The commissioning window follows connectedhomeip
// src/app/server/CommissioningWindowManager.cpp. When a PASE session is
// established (OnSessionEstablished → StopAdvertisement) the window stops
// listening and advertising: _matterc._udp is withdrawn and a second
// commissioner's PBKDFParamRequest is acked and ignored (the SDK
// unregisters its handler; NoticeWindowClosed, WindowPASE). If the
// fail-safe armed then expires before CommissioningComplete, or the PASE
// session closes first (OnSessionReleased → ExpireFailSafeIfArmed), that
// counts as a failed attempt and the window listens and advertises again
// (OnPlatformEvent kFailSafeTimerExpired → HandleFailedAttempt →
// AdvertiseAndListenForPASE; NoticeWindowOpened, WindowFailSafe), or
// closes for good at the 20th failure. CommissioningComplete closes it
// (kCommissioningComplete → Cleanup; NoticeWindowClosed,
// WindowCommissioned), and when the last fabric is removed the basic
// window opens again. In the SDK that last step is the application's: the
// example apps (ESP32 and others) call
// CommissioningWindowManager::OpenBasicCommissioningWindow from their
// DeviceEventType::kFabricRemoved handler when
// FabricTable().FabricCount() == 0; the Server's own fabric delegate
// (src/app/server/Server.h ServerFabricDelegate, in the version read)
// only drops the fabric's sessions, groups and ACL. Not modelled: the
// window's own timeout (the SDK closes a basic window after
// CHIP_DEVICE_CONFIG_DISCOVERY_TIMEOUT_SECS, 15 min, HandleCommissioningWindowTimeout);
// here it stays open until commissioned.
package commissionee
