//! Showing times in the operator's time zone. Stored times are UTC.

use chrono::{DateTime, FixedOffset, Utc};

/// The offset of a configured zone: `UTC`, `Asia/Taipei` (no daylight saving), or a
/// literal offset like `+08:00`.
pub fn offset(zone: &str) -> FixedOffset {
    let east = |secs| FixedOffset::east_opt(secs).expect("offset within a day");
    match zone {
        "UTC" | "Etc/UTC" => east(0),
        "Asia/Taipei" | "Asia/Taipei " => east(8 * 3600),
        literal => parse_offset(literal).unwrap_or_else(|| east(8 * 3600)),
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    FixedOffset::east_opt(sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60))
}

/// `2026-11-22 18:30` in the zone.
pub fn display(at: DateTime<Utc>, zone: &str) -> String {
    at.with_timezone(&offset(zone)).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn zones() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 20, 0, 0).unwrap();
        assert_eq!(display(t, "Asia/Taipei"), "2026-01-02 04:00");
        assert_eq!(display(t, "UTC"), "2026-01-01 20:00");
        assert_eq!(display(t, "-05:30"), "2026-01-01 14:30");
    }
}
