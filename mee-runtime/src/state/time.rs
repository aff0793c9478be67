//! Timestamps of the stored state: UTC instants with millisecond precision, written as RFC 3339
//! strings (`2026-11-05T10:02:03.004Z`), and the [`Clock`] that produces them.
//!
//! The formatter and parser are written here instead of pulling in a date crate because the state
//! store needs exactly one textual form, and a fixed-width form with a `Z` suffix sorts
//! lexicographically in time order, which keeps the stored documents readable and comparable.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant in UTC, counted in milliseconds since the Unix epoch.
///
/// Stored format: an RFC 3339 string with exactly three fraction digits and a `Z` suffix, e.g.
/// `"2026-11-05T10:02:03.004Z"`. Reading accepts any RFC 3339 form (other offsets, 0 to 9 fraction
/// digits, `t` or a space as the separator); fractions finer than a millisecond are truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

/// The first and last instants that have a four-digit year, the range the formatter can write.
const MIN_MILLIS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_MILLIS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00.000Z.
    pub const EPOCH: Timestamp = Timestamp { millis: 0 };

    /// The instant `millis` milliseconds after the epoch (negative before it), clamped to the years
    /// 0000 to 9999 so that every timestamp has a valid RFC 3339 form.
    pub fn from_millis(millis: i64) -> Self {
        Timestamp {
            millis: millis.clamp(MIN_MILLIS, MAX_MILLIS),
        }
    }

    pub fn as_millis(self) -> i64 {
        self.millis
    }

    /// The current time of the system clock.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Converts a `SystemTime`, truncating to milliseconds (towards the past).
    pub fn from_system_time(time: SystemTime) -> Self {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
            Err(before) => {
                // Truncating towards the past keeps `from_system_time` monotonic across the epoch.
                let d = before.duration();
                let whole = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                let extra = i64::from(d.subsec_nanos() % 1_000_000 != 0);
                whole.saturating_add(extra).saturating_neg()
            }
        };
        Self::from_millis(millis)
    }

    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_millis(self.millis.unsigned_abs());
        if self.millis >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }

    /// How long after `earlier` this instant is; zero when it is not after it. Used for lag.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        let diff = self.millis.saturating_sub(earlier.millis);
        Duration::from_millis(u64::try_from(diff).unwrap_or(0))
    }

    /// This instant moved by `d` into the future (saturating at the year 9999).
    pub fn plus(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self::from_millis(self.millis.saturating_add(ms))
    }

    /// This instant moved by `d` into the past (saturating at the year 0000).
    pub fn minus(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self::from_millis(self.millis.saturating_sub(ms))
    }

    /// The stored form, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn to_rfc3339(self) -> String {
        let days = self.millis.div_euclid(86_400_000);
        let in_day = self.millis.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (secs, ms) = (in_day / 1000, in_day % 1000);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }

    /// Parses an RFC 3339 date-time (see the type's documentation for what is accepted).
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimestampParseError> {
        parse_rfc3339(text).ok_or_else(|| TimestampParseError {
            input: text.to_string(),
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// A string that is not an RFC 3339 date-time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not an RFC 3339 timestamp (expected e.g. 2026-11-05T10:02:03.004Z)")]
pub struct TimestampParseError {
    input: String,
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, which is exact for every day in the supported range without loops.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter()
            .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute) = (digits(11..13)?, digits(14..16)?);
    // A leap second (:60) is read as the last millisecond-aligned second before it, because the
    // millisecond timeline has no slot for it and only ordering matters here.
    let second = digits(17..19)?.min(59);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start || end - start > 9 {
            return None;
        }
        for (k, d) in b[start..end].iter().take(3).enumerate() {
            millis += i64::from(d - b'0') * [100, 10, 1][k];
        }
        i = end;
    }
    let offset_minutes = match b.get(i..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = digits(i + 1..i + 3)?;
            let mins = digits(i + 4..i + 6)?;
            if hours > 23 || mins > 59 {
                return None;
            }
            let total = hours * 60 + mins;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(Timestamp::from_millis(secs * 1000 + millis))
}

/// Where the state store and the retry table get "now" from. The system clock in production; a
/// [`ManualClock`] in tests that need to control time (e.g. lag or retention).
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            millis: Arc::new(AtomicI64::new(start.as_millis())),
        }
    }

    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.as_millis(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp::EPOCH.to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp::from_millis(1_793_872_801_123).to_rfc3339(),
            "2026-11-05T10:00:01.123Z"
        );
        // The day after a leap day, and the end of a leap year.
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_rfc3339(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(978_307_199_999).to_rfc3339(),
            "2000-12-31T23:59:59.999Z"
        );
        // Before the epoch the millisecond part still counts forwards within the second.
        assert_eq!(
            Timestamp::from_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_millis(i64::MIN).to_rfc3339(),
            "0000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(i64::MAX).to_rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // One instant per day from 1900 to 2300 exercises every month length and leap rule.
        let start = days_from_civil(1900, 1, 1);
        let end = days_from_civil(2300, 1, 1);
        let mut previous = String::new();
        for day in start..end {
            let t = Timestamp::from_millis(day * 86_400_000 + 45_296_789);
            let text = t.to_rfc3339();
            assert_eq!(ts(&text), t, "{text}");
            assert!(text > previous, "{text} sorts after {previous}");
            previous = text;
        }
    }

    #[test]
    fn parses_other_rfc3339_forms() {
        let base = ts("2026-11-05T10:00:01.123Z");
        assert_eq!(ts("2026-11-05t10:00:01.123z"), base);
        assert_eq!(ts("2026-11-05 10:00:01.123Z"), base);
        assert_eq!(ts("2026-11-05T12:30:01.123+02:30"), base);
        assert_eq!(ts("2026-11-05T07:00:01.123-03:00"), base);
        assert_eq!(ts("2026-11-05T10:00:01.123456789Z"), base);
        assert_eq!(ts("2026-11-05T10:00:01.1Z").as_millis() % 1000, 100);
        assert_eq!(ts("2026-11-05T10:00:01Z").as_millis() % 1000, 0);
        assert_eq!(ts("2016-12-31T23:59:60Z"), ts("2016-12-31T23:59:59Z"));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "2026-11-05",
            "2026-11-05T10:00:01",
            "2026-11-05T10:00:01.Z",
            "2026-11-05T10:00:01.1234567890Z",
            "2026-13-05T10:00:01Z",
            "2026-02-29T10:00:01Z",
            "2026-11-31T10:00:01Z",
            "2026-11-05T24:00:01Z",
            "2026-11-05T10:60:01Z",
            "2026-11-05T10:00:01+0200",
            "2026-11-05T10:00:01+24:00",
            "2026-11-05T10:00:01Zjunk",
            "2026-1a-05T10:00:01Z",
            "２026-11-05T10:00:01Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn system_time_conversions_truncate_to_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_500_000_999_999);
        assert_eq!(Timestamp::from_system_time(t).as_millis(), 1_500_000);
        let before = UNIX_EPOCH - Duration::from_micros(1500);
        assert_eq!(Timestamp::from_system_time(before).as_millis(), -2);
        let back = Timestamp::from_millis(-2).to_system_time();
        assert_eq!(UNIX_EPOCH.duration_since(back).unwrap().as_millis(), 2);
    }

    #[test]
    fn serde_uses_the_string_form() {
        let t = Timestamp::from_millis(1_793_872_801_123);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-11-05T10:00:01.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_millis(1000));
        let shared = clock.clone();
        assert_eq!(clock.now().as_millis(), 1000);
        shared.advance(Duration::from_secs(2));
        assert_eq!(clock.now().as_millis(), 3000);
        clock.set(Timestamp::EPOCH);
        assert_eq!(shared.now(), Timestamp::EPOCH);
        assert_eq!(
            Timestamp::from_millis(5000).saturating_since(Timestamp::from_millis(7000)),
            Duration::ZERO
        );
        assert_eq!(
            Timestamp::from_millis(5000).minus(Duration::from_secs(1)),
            Timestamp::from_millis(4000)
        );
    }
}
