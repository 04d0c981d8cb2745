//! Pure types and rules of Help On Demand. Nothing here does IO: values are parsed at the
//! edges (HTTP, CLI, files) into these types, and the rules work on them.
#![forbid(unsafe_code)]

pub mod account;
pub mod actor;
pub mod availability;
pub mod delivery;
pub mod eligibility;
pub mod geo;
pub mod lang;
pub mod licence;
pub mod npn;
pub mod password;
pub mod program;
pub mod referral;
pub mod routing;
pub mod simulation;
pub mod sms_keywords;
pub mod text;

pub use account::{ContactMethod, PhoneE164, Username};
pub use geo::{UsState, Zip, ZipDirectory, ZipInfo};
pub use lang::Lang;
pub use licence::{License, LineOfAuthority, ValidLoas};
pub use npn::Npn;
pub use program::{MarketplaceType, PlanYear, StatePeriod, StateTable};

/// `TryFrom<String>` for an enum stored by name: `$ty::ALL` searched by `$name()`, refusing
/// anything else with "… is not $what".
#[macro_export]
macro_rules! stored_name {
    ($ty:ty, $name:ident, $what:literal) => {
        impl TryFrom<String> for $ty {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                Self::ALL
                    .into_iter()
                    .find(|x| x.$name() == s)
                    .ok_or_else(|| format!("{s:?} is not {}", $what))
            }
        }
    };
}
