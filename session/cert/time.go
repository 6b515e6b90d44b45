package cert

import (
	"time"

	"mattersim/clock"
)

// Time is a Matter epoch time: seconds since 2000-01-01T00:00:00Z, the
// encoding of not-before and not-after in the TLV form (spec 6.5, with
// the data model's "epoch-s"). As a not-after value, NoExpiry (0) means "no well-defined
// expiration date", X.509 99991231235959Z (RFC 5280 4.1.2.5).
type Time uint32

// NoExpiry is the not-after value of a certificate that never expires.
const NoExpiry Time = 0

// epochUnix is 2000-01-01T00:00:00Z in Unix seconds.
const epochUnix = 946684800

// TimeAt returns the Matter epoch time of the clock reading now, given the
// Matter epoch time of the clock's zero (the wall-clock instant a run
// starts, fixed by the caller so that runs stay reproducible). It saturates
// at the ends of the 32-bit range.
func TimeAt(epoch Time, now clock.Time) Time {
	s := int64(epoch) + int64(now)/int64(time.Second)
	switch {
	case s < 0:
		return 0
	case s > 0xFFFFFFFF:
		return 0xFFFFFFFF
	}
	return Time(s)
}

// Date returns the Matter epoch time of a UTC calendar date; it returns
// false for dates outside 2000-01-01T00:00:00Z .. 2136-02-07T06:28:15Z.
func Date(year, month, day, hour, min, sec int) (Time, bool) {
	s := daysFromCivil(year, month, day)*86400 + int64(hour)*3600 + int64(min)*60 + int64(sec) - epochUnix
	if s < 0 || s > 0xFFFFFFFF {
		return 0, false
	}
	return Time(s), true
}

// civil returns the UTC calendar date of t.
func (t Time) civil() (year, month, day, hour, min, sec int) {
	s := int64(t) + epochUnix
	days, rem := s/86400, s%86400
	year, month, day = civilFromDays(days)
	return year, month, day, int(rem / 3600), int(rem % 3600 / 60), int(rem % 60)
}

// String formats t as an RFC 3339 UTC time (0 prints as
// 2000-01-01T00:00:00Z: whether it means NoExpiry depends on the field).
func (t Time) String() string {
	y, mo, d, h, mi, s := t.civil()
	b := make([]byte, 0, 20)
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, mo, 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	return string(append(b, 'Z'))
}

func appendDigits(b []byte, v, n int) []byte {
	var tmp [8]byte
	for i := n - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:n]...)
}

// daysFromCivil and civilFromDays convert between proleptic Gregorian dates
// and days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms").
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}
