//! Audiences that change while a test runs: records added ([`PearlDiver::add_records`]) and
//! records seen again ([`PearlDiver::touch_records`]), kept as a short log of index ranges.
//!
//! Memory stays flat in audience size: each call stores one range and one instant, never a
//! record. A listing sees the changes made up to the instant its first page was served (its
//! window end `t`), so the pages of one listing agree with each other.
//!
//! [`PearlDiver::add_records`]: super::PearlDiver::add_records
//! [`PearlDiver::touch_records`]: super::PearlDiver::touch_records

use std::collections::HashMap;
use std::ops::Range;

/// What happened to one audience since the emulator started.
#[derive(Debug, Default, Clone)]
pub(crate) struct AudienceChanges {
    /// Records appended after the base `size`: (first index, count, instant added).
    grown: Vec<(u64, u64, i64)>,
    /// Records seen again: (indices, instant).
    touched: Vec<(Range<u64>, i64)>,
}

/// Every audience's changes, by key.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    by_key: HashMap<u64, AudienceChanges>,
}

impl Changes {
    /// The changes of one audience, if any were made.
    pub(crate) fn of(&self, key: u64) -> Option<&AudienceChanges> {
        self.by_key.get(&key)
    }

    /// Appends `count` records to audience `key` (base size `size`) seen at `at`; their indices.
    pub(crate) fn grow(&mut self, key: u64, size: u64, count: u64, at: i64) -> Range<u64> {
        let changes = self.by_key.entry(key).or_default();
        let start = size + changes.grown.iter().map(|g| g.1).sum::<u64>();
        if count > 0 {
            changes.grown.push((start, count, at));
        }
        start..start + count
    }

    /// Marks records `indices` of audience `key` as seen at `at` (clipped to the records that
    /// exist); the indices kept.
    pub(crate) fn touch(
        &mut self,
        key: u64,
        size: u64,
        indices: Range<u64>,
        at: i64,
    ) -> Range<u64> {
        let changes = self.by_key.entry(key).or_default();
        let total = size + changes.grown.iter().map(|g| g.1).sum::<u64>();
        let kept = indices.start.min(total)..indices.end.min(total);
        if !kept.is_empty() {
            changes.touched.push((kept.clone(), at));
        }
        kept
    }
}

impl AudienceChanges {
    /// The records a listing whose window is `[since, t]` finds beyond the first `n_base` base
    /// records: sorted, disjoint index ranges.
    pub(crate) fn extra_ranges(&self, n_base: u64, since: i64, t: i64) -> Vec<Range<u64>> {
        let visible = |at: i64| at >= since && at <= t;
        let mut ranges: Vec<Range<u64>> = self
            .grown
            .iter()
            .filter(|g| visible(g.2))
            .map(|g| g.0..g.0 + g.1)
            .chain(
                self.touched
                    .iter()
                    .filter(|(r, at)| visible(*at) && self.exists_at(r.start, t))
                    .map(|(r, _)| r.clone()),
            )
            .map(|r| r.start.max(n_base)..r.end.max(n_base))
            .filter(|r| !r.is_empty())
            .collect();
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
    }

    /// Whether record `index` existed at `t` (a base record, or one added by then).
    fn exists_at(&self, index: u64, t: i64) -> bool {
        match self
            .grown
            .iter()
            .find(|g| (g.0..g.0 + g.1).contains(&index))
        {
            Some(g) => g.2 <= t,
            None => true,
        }
    }

    /// When record `index` was last seen as of `t`, if a change says so (else the base timeline
    /// applies).
    pub(crate) fn seen(&self, index: u64, t: i64) -> Option<i64> {
        let touched = self
            .touched
            .iter()
            .filter(|(r, at)| r.contains(&index) && *at <= t)
            .map(|(_, at)| *at)
            .max();
        let grown = self
            .grown
            .iter()
            .find(|g| (g.0..g.0 + g.1).contains(&index))
            .map(|g| g.2);
        touched.max(grown)
    }
}

/// The index of the record at `offset` of a listing: the first `n_base` base records, then the
/// extra ranges in order.
pub(crate) fn index_at(offset: u64, n_base: u64, extra: &[Range<u64>]) -> Option<u64> {
    if offset < n_base {
        return Some(offset);
    }
    let mut rest = offset - n_base;
    for r in extra {
        let len = r.end - r.start;
        if rest < len {
            return Some(r.start + rest);
        }
        rest -= len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grown_records_follow_the_base_and_earlier_growth() {
        let mut c = Changes::default();
        assert_eq!(c.grow(1, 100, 5, 10), 100..105);
        assert_eq!(c.grow(1, 100, 3, 20), 105..108);
        let a = c.of(1).unwrap();
        // A listing at t=15 sees only the first growth; at t=25 both, merged.
        assert_eq!(a.extra_ranges(40, 0, 15), vec![100..105]);
        assert_eq!(a.extra_ranges(40, 0, 25), vec![100..108]);
        // A window starting after the first growth misses it.
        assert_eq!(a.extra_ranges(40, 15, 25), vec![105..108]);
    }

    #[test]
    fn touched_records_beyond_the_base_window_are_extra_and_never_twice() {
        let mut c = Changes::default();
        c.touch(1, 100, 30..60, 50);
        c.touch(1, 100, 50..70, 60);
        c.touch(1, 100, 90..500, 70); // clipped to the 100 records that exist
        let a = c.of(1).unwrap();
        assert_eq!(a.extra_ranges(40, 45, 80), vec![40..70, 90..100]);
        assert_eq!(a.seen(55, 80), Some(60));
        assert_eq!(a.seen(55, 55), Some(50));
        assert_eq!(a.seen(10, 80), None);
        assert_eq!(index_at(39, 40, &[40..70, 90..100]), Some(39));
        assert_eq!(index_at(70, 40, &[40..70, 90..100]), Some(90));
        assert_eq!(index_at(80, 40, &[40..70, 90..100]), None);
    }

    #[test]
    fn a_touch_of_a_record_added_later_is_not_seen_before_it_exists() {
        let mut c = Changes::default();
        let added = c.grow(1, 10, 2, 100);
        c.touch(1, 10, added.clone(), 200);
        let a = c.of(1).unwrap();
        assert!(a.extra_ranges(10, 0, 50).is_empty());
        assert_eq!(a.extra_ranges(10, 0, 150), vec![10..12]);
        assert_eq!(a.seen(10, 150), Some(100));
        assert_eq!(a.seen(10, 250), Some(200));
    }
}
