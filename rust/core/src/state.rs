//! Task states and the order that makes a task's state a function of its set of events.

use crate::time::Micros;

/// A Celery task state as carried on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Pending,
    Received,
    Started,
    Retry,
    Success,
    Failure,
    Revoked,
    Rejected,
    Ignored,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Pending,
        State::Received,
        State::Started,
        State::Retry,
        State::Success,
        State::Failure,
        State::Revoked,
        State::Rejected,
        State::Ignored,
    ];

    /// Parse a state name in any case.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "PENDING",
            State::Received => "RECEIVED",
            State::Started => "STARTED",
            State::Retry => "RETRY",
            State::Success => "SUCCESS",
            State::Failure => "FAILURE",
            State::Revoked => "REVOKED",
            State::Rejected => "REJECTED",
            State::Ignored => "IGNORED",
        }
    }

    /// Terminal states end a task; nothing after them changes its state.
    pub fn is_terminal(self) -> bool {
        self >= State::Success
    }

    /// Bit for state sets (filters, aggregates).
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Where an event sits in a task's life. Comparing ranks decides which event sets the state:
/// terminal beats non-terminal; then the later attempt (retries); then the lifecycle phase;
/// then time. Arrival order plays no part, so any permutation of the events gives one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    terminal: bool,
    retries: u32,
    state: State,
    timestamp: Micros,
}

impl Rank {
    pub fn new(state: State, retries: u32, timestamp: Micros) -> Rank {
        Rank { terminal: state.is_terminal(), retries, state, timestamp }
    }

    /// The lowest rank: anything beats it.
    pub const MIN: Rank = Rank { terminal: false, retries: 0, state: State::Pending, timestamp: i64::MIN };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_beats_later_non_terminal() {
        assert!(Rank::new(State::Success, 0, 10) > Rank::new(State::Started, 0, 99));
        assert!(Rank::new(State::Pending, 1, 5) > Rank::new(State::Retry, 0, 9));
        assert!(Rank::new(State::Started, 0, 1) > Rank::new(State::Received, 0, 2));
    }

    #[test]
    fn parses_any_case() {
        assert_eq!(State::parse("success"), Some(State::Success));
        assert_eq!(State::parse("Retry"), Some(State::Retry));
        assert_eq!(State::parse("RUNNING"), None);
    }
}
