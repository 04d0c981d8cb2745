//! Who did something, as the referral timeline and the audit log record it.
use std::fmt;
use std::str::FromStr;

/// The author of a timeline entry or an audit record. Stored as text: `system`, `consumer`,
/// `cli`, `demo`, `agent:12`, `partner:3`, `operator:5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Actor {
    /// The router, the sweeper, scheduled jobs.
    #[default]
    System,
    /// Someone using the public request form.
    Consumer,
    /// A command typed at the server (`hod …`).
    Cli,
    /// The demo's world-building.
    Demo,
    Agent(i64),
    /// A partner's API key, by id.
    Partner(i64),
    Operator(i64),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::Consumer => f.write_str("consumer"),
            Self::Cli => f.write_str("cli"),
            Self::Demo => f.write_str("demo"),
            Self::Agent(id) => write!(f, "agent:{id}"),
            Self::Partner(id) => write!(f, "partner:{id}"),
            Self::Operator(id) => write!(f, "operator:{id}"),
        }
    }
}

impl FromStr for Actor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an actor");
        Ok(match s {
            "system" => Self::System,
            "consumer" => Self::Consumer,
            "cli" => Self::Cli,
            "demo" => Self::Demo,
            _ => {
                let (who, id) = s.split_once(':').ok_or_else(bad)?;
                let id = id.parse().map_err(|_| bad())?;
                match who {
                    "agent" => Self::Agent(id),
                    "partner" => Self::Partner(id),
                    "operator" => Self::Operator(id),
                    _ => return Err(bad()),
                }
            }
        })
    }
}

impl serde::Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Actor;

    #[test]
    fn names_round_trip() {
        for a in [
            Actor::System,
            Actor::Consumer,
            Actor::Cli,
            Actor::Demo,
            Actor::Agent(12),
            Actor::Partner(3),
            Actor::Operator(5),
        ] {
            assert_eq!(a.to_string().parse::<Actor>(), Ok(a));
        }
        for bad in ["", "agent", "agent:", "agent:x", "robot:1", "System"] {
            assert!(bad.parse::<Actor>().is_err(), "{bad:?}");
        }
    }
}
