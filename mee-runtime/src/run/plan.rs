//! The decisions of `mee run`, kept free of I/O so they can be tested one by one: where to start
//! ([`plan_start`]) and what to do when the pipeline state changes while following
//! ([`directive`]).

use crate::binlog::BinlogPosition;
use crate::state::{Checkpoint, Generation, LeaseView, PipelineState, Position, StateError};

/// Where a follower starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartPlan {
    /// Follow the binlog from `from` into `index`. `alias_pending`: the index is a finished
    /// generation the alias does not point at yet (this follower moves it once caught up).
    Follow {
        index: String,
        from: BinlogPosition,
        alias_pending: bool,
    },
    /// No generation this build can follow: run a full update first.
    FullUpdate,
}

/// - The active generation, if this build made it: from the checkpoint if the checkpoint belongs
///   to that generation, else from the generation's snapshot.
/// - Else a finished generation of this build waiting for its alias (a follower stopped during
///   its catch-up): the same, with the alias move still to do.
/// - Else a full update.
pub fn plan_start(
    state: Option<&PipelineState>,
    checkpoint: Option<&Checkpoint>,
    fingerprint: &str,
) -> StartPlan {
    let ours = |g: &&Generation| g.fingerprint == fingerprint;
    let from = |g: &Generation, legacy_ok: bool| -> Option<BinlogPosition> {
        let snapshot = g.snapshot.as_ref().and_then(Position::as_binlog).cloned();
        let saved = checkpoint.and_then(|c| {
            let mine = match &c.index {
                Some(i) => *i == g.index,
                // Written before checkpoints named their generation: it can only be the active
                // one's, and never older than its snapshot.
                None => legacy_ok,
            };
            mine.then(|| c.position.as_binlog().cloned()).flatten()
        });
        match (saved, snapshot) {
            (Some(c), Some(s)) => Some(c.max(s)),
            (c, s) => c.or(s),
        }
    };
    let Some(state) = state else {
        return StartPlan::FullUpdate;
    };
    if let Some(active) = state.active.as_ref().filter(ours)
        && let Some(from) = from(active, true)
    {
        return StartPlan::Follow {
            index: active.index.clone(),
            from,
            alias_pending: false,
        };
    }
    if let Some(waiting) = state.building.as_ref().filter(ours)
        && waiting.snapshot.is_some()
        && let Some(from) = from(waiting, false)
    {
        return StartPlan::Follow {
            index: waiting.index.clone(),
            from,
            alias_pending: true,
        };
    }
    StartPlan::FullUpdate
}

/// What the follower knows about itself when the state changes.
#[derive(Debug)]
pub struct Following<'a> {
    /// The index it writes to.
    pub write_to: &'a str,
    /// Whether it still has to move the alias to `write_to` (its own new generation).
    pub alias_pending: bool,
    /// The new generation it is switching over to, if any.
    pub switching_to: Option<&'a str>,
    /// Indexes it wrote to before and switched away from (a state read before its own switch
    /// still names them).
    pub retired: &'a [String],
    pub fingerprint: &'a str,
}

/// What to do about a state change.
#[derive(Debug, PartialEq, Eq)]
pub enum Directive {
    Continue,
    /// A finished generation of this build waits: bring it up to date from `from` and switch.
    StartSwitch {
        to: String,
        from: BinlogPosition,
    },
    /// Someone else changed what this follower works on: set up again from the state.
    Restart(String),
    /// Another process took the lease.
    Stop(StateError),
}

pub fn directive(view: &LeaseView, me: &Following<'_>) -> Directive {
    let state = match view {
        LeaseView::Lost(e) => return Directive::Stop(e.clone()),
        LeaseView::Held(state) => state,
    };
    let active = state.active.as_ref().map(|g| g.index.as_str());
    let building = state.building.as_ref();
    // Read before this follower's own alias move: it still shows the old arrangement.
    let stale = active.is_some_and(|a| me.retired.iter().any(|r| r == a))
        || building.is_some_and(|b| b.index == me.write_to);
    if !me.alias_pending && active != Some(me.write_to) && !stale {
        return Directive::Restart(format!(
            "the alias was moved to `{}` by another process",
            active.unwrap_or("nothing")
        ));
    }
    if me.alias_pending
        && active != Some(me.write_to)
        && building.map(|b| b.index.as_str()) != Some(me.write_to)
    {
        return Directive::Restart(format!(
            "generation `{}` is no longer recorded as the one being built",
            me.write_to
        ));
    }
    if let Some(to) = me.switching_to {
        if building.map(|b| b.index.as_str()) != Some(to) {
            return Directive::Restart(format!(
                "generation `{to}` is no longer waiting for the switch-over"
            ));
        }
        return Directive::Continue;
    }
    match building {
        Some(b)
            if !me.alias_pending
                && b.fingerprint == me.fingerprint
                && b.index != me.write_to
                && !me.retired.contains(&b.index) =>
        {
            match b.snapshot.as_ref().and_then(Position::as_binlog) {
                Some(from) => Directive::StartSwitch {
                    to: b.index.clone(),
                    from: from.clone(),
                },
                None => Directive::Continue, // Still being filled.
            }
        }
        _ => Directive::Continue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{CheckpointKey, PipelineKey, Timestamp};

    fn pos(n: u64) -> BinlogPosition {
        BinlogPosition::new("bin.000001", n)
    }

    fn generation(index: &str, fingerprint: &str, snapshot: Option<u64>) -> Generation {
        let mut g = Generation::new(index, fingerprint, Timestamp::EPOCH);
        g.snapshot = snapshot.map(|n| Position::Binlog(pos(n)));
        g
    }

    fn state(active: Option<Generation>, building: Option<Generation>) -> PipelineState {
        let mut s = PipelineState::new(&PipelineKey::new("p", "a"), Timestamp::EPOCH);
        s.active = active;
        s.building = building;
        s
    }

    fn checkpoint(index: Option<&str>, at: u64) -> Checkpoint {
        let mut c = Checkpoint::new(
            &CheckpointKey::new("p", "sync/a"),
            Position::Binlog(pos(at)),
            Timestamp::EPOCH,
        );
        c.index = index.map(str::to_string);
        c
    }

    fn follow(index: &str, from: u64, alias_pending: bool) -> StartPlan {
        StartPlan::Follow {
            index: index.into(),
            from: pos(from),
            alias_pending,
        }
    }

    #[test]
    fn nothing_yet_means_a_full_update() {
        assert_eq!(plan_start(None, None, "f"), StartPlan::FullUpdate);
        let other = state(Some(generation("a_1", "old", Some(10))), None);
        assert_eq!(plan_start(Some(&other), None, "f"), StartPlan::FullUpdate);
    }

    #[test]
    fn the_checkpoint_of_the_active_generation_is_resumed() {
        let s = state(Some(generation("a_1", "f", Some(10))), None);
        let c = checkpoint(Some("a_1"), 50);
        assert_eq!(
            plan_start(Some(&s), Some(&c), "f"),
            follow("a_1", 50, false)
        );
        assert_eq!(plan_start(Some(&s), None, "f"), follow("a_1", 10, false));
    }

    #[test]
    fn a_checkpoint_of_an_earlier_generation_is_not_used_even_when_newer() {
        // `mee update` moved the alias to a_2 (snapshot 30) while the follower of a_1 was at 50:
        // changes 30..50 went to a_1 only, so a_2 must be followed from 30.
        let s = state(Some(generation("a_2", "f", Some(30))), None);
        let c = checkpoint(Some("a_1"), 50);
        assert_eq!(
            plan_start(Some(&s), Some(&c), "f"),
            follow("a_2", 30, false)
        );
    }

    #[test]
    fn a_legacy_checkpoint_is_taken_for_the_active_generation_but_never_before_its_snapshot() {
        let s = state(Some(generation("a_2", "f", Some(30))), None);
        assert_eq!(
            plan_start(Some(&s), Some(&checkpoint(None, 50)), "f"),
            follow("a_2", 50, false)
        );
        assert_eq!(
            plan_start(Some(&s), Some(&checkpoint(None, 20)), "f"),
            follow("a_2", 30, false)
        );
    }

    #[test]
    fn a_finished_generation_waiting_for_its_alias_is_resumed_not_rebuilt() {
        let s = state(None, Some(generation("a_2", "f", Some(30))));
        assert_eq!(plan_start(Some(&s), None, "f"), follow("a_2", 30, true));
        let c = checkpoint(Some("a_2"), 44);
        assert_eq!(plan_start(Some(&s), Some(&c), "f"), follow("a_2", 44, true));
        // An unfinished one (no snapshot yet) is not.
        let s = state(None, Some(generation("a_2", "f", None)));
        assert_eq!(plan_start(Some(&s), None, "f"), StartPlan::FullUpdate);
    }

    fn held(s: PipelineState) -> LeaseView {
        LeaseView::Held(Box::new(s))
    }

    fn me<'a>(write_to: &'a str, switching_to: Option<&'a str>) -> Following<'a> {
        Following {
            write_to,
            alias_pending: false,
            switching_to,
            retired: &[],
            fingerprint: "f",
        }
    }

    #[test]
    fn a_finished_generation_of_this_build_starts_a_switch_over() {
        let view = held(state(
            Some(generation("a_1", "f", Some(10))),
            Some(generation("a_2", "f", Some(30))),
        ));
        assert_eq!(
            directive(&view, &me("a_1", None)),
            Directive::StartSwitch {
                to: "a_2".into(),
                from: pos(30)
            }
        );
        assert_eq!(
            directive(&view, &me("a_1", Some("a_2"))),
            Directive::Continue
        );
    }

    #[test]
    fn a_generation_still_being_filled_or_of_another_build_is_left_alone() {
        let filling = held(state(
            Some(generation("a_1", "f", Some(10))),
            Some(generation("a_2", "f", None)),
        ));
        assert_eq!(directive(&filling, &me("a_1", None)), Directive::Continue);
        let other = held(state(
            Some(generation("a_1", "f", Some(10))),
            Some(generation("a_2", "g", Some(30))),
        ));
        assert_eq!(directive(&other, &me("a_1", None)), Directive::Continue);
    }

    #[test]
    fn an_alias_moved_by_someone_else_restarts_but_a_stale_read_of_our_own_switch_does_not() {
        let view = held(state(Some(generation("a_9", "f", Some(90))), None));
        assert!(matches!(
            directive(&view, &me("a_1", None)),
            Directive::Restart(_)
        ));
        let before_our_switch = held(state(
            Some(generation("a_1", "f", Some(10))),
            Some(generation("a_2", "f", Some(30))),
        ));
        let retired = ["a_1".to_string()];
        let after = Following {
            retired: &retired,
            ..me("a_2", None)
        };
        assert_eq!(directive(&before_our_switch, &after), Directive::Continue);
    }

    #[test]
    fn a_replaced_switch_target_restarts() {
        let view = held(state(
            Some(generation("a_1", "f", Some(10))),
            Some(generation("a_3", "f", None)),
        ));
        assert!(matches!(
            directive(&view, &me("a_1", Some("a_2"))),
            Directive::Restart(_)
        ));
    }

    #[test]
    fn a_lost_lease_stops() {
        let lost = LeaseView::Lost(StateError::InvalidTransition {
            pipeline: "p".into(),
            alias: "a".into(),
            reason: "x".into(),
        });
        assert!(matches!(
            directive(&lost, &me("a_1", None)),
            Directive::Stop(_)
        ));
    }
}
