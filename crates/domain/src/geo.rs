//! US states, ZIP codes and the bundled ZIP directory.
use std::fmt;
use std::sync::OnceLock;

const STATES_CSV: &str = include_str!("../../../data/us_states.csv");
/// The bundled ZIP directory, as shipped in `data/zip_codes.csv` (see `data/ATTRIBUTION.md`).
pub const ZIP_DIRECTORY_CSV: &str = include_str!("../../../data/zip_codes.csv");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateInfo {
    pub code: &'static str,
    pub name: &'static str,
    pub name_es: &'static str,
    pub fips: &'static str,
}

/// States, DC and the territories that have ZIP codes, in the bundled order.
pub fn states() -> &'static [StateInfo] {
    static LIST: OnceLock<Vec<StateInfo>> = OnceLock::new();
    LIST.get_or_init(|| {
        STATES_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let mut f = line.split(',');
                let mut next = || f.next().expect("data/us_states.csv has four columns");
                StateInfo {
                    code: next(),
                    name: next(),
                    name_es: next(),
                    fips: next(),
                }
            })
            .collect()
    })
}

/// A two-letter USPS state or territory code from the bundled table.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct UsState(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a US state or territory code (two letters, e.g. \"TX\")")]
pub struct UnknownState(pub String);

impl UsState {
    pub fn parse(code: &str) -> Result<Self, UnknownState> {
        let code = code.trim().to_ascii_uppercase();
        states()
            .iter()
            .position(|s| s.code == code)
            .map(|i| UsState(u8::try_from(i).expect("fewer than 256 states")))
            .ok_or(UnknownState(code))
    }

    pub fn info(self) -> &'static StateInfo {
        &states()[usize::from(self.0)]
    }

    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// American Samoa, Guam, the Northern Mariana Islands, Puerto Rico and the U.S. Virgin
    /// Islands (FIPS codes 60 and up): no Health Insurance Marketplace serves them.
    pub fn is_territory(self) -> bool {
        self.info().fips.parse::<u8>().is_ok_and(|f| f >= 60)
    }
}

impl TryFrom<String> for UsState {
    type Error = UnknownState;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UsState> for String {
    fn from(value: UsState) -> Self {
        value.code().to_owned()
    }
}

impl fmt::Display for UsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for UsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UsState({})", self.code())
    }
}

/// A five-digit ZIP code (ZIP+4 input is accepted and its suffix dropped). Whether the ZIP
/// exists is a question for the [`ZipDirectory`].
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Zip(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a ZIP code (five digits, e.g. 48371)")]
pub struct ZipSyntaxError(pub String);

impl Zip {
    pub fn parse(raw: &str) -> Result<Self, ZipSyntaxError> {
        let s = raw.trim();
        let five = match s.split_once('-') {
            Some((head, tail)) if tail.len() == 4 && tail.bytes().all(|b| b.is_ascii_digit()) => {
                head
            }
            Some(_) => return Err(ZipSyntaxError(s.to_owned())),
            None => s,
        };
        if five.len() != 5 || !five.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ZipSyntaxError(s.to_owned()));
        }
        Ok(Zip(five.parse().expect("five ASCII digits")))
    }

    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl TryFrom<String> for Zip {
    type Error = ZipSyntaxError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Zip> for String {
    fn from(value: Zip) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Zip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:05}", self.0)
    }
}

impl fmt::Debug for Zip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zip({self})")
    }
}

/// What the directory knows about one ZIP code.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipInfo {
    pub zip: Zip,
    pub city: &'static str,
    pub state: UsState,
    pub county: &'static str,
    pub latitude: f64,
    pub longitude: f64,
    /// IANA time zone name, e.g. `America/Chicago`.
    pub time_zone: &'static str,
}

/// The mean radius of the Earth.
pub(crate) const EARTH_RADIUS_MILES: f64 = 3958.8;

impl ZipInfo {
    /// Great-circle distance in statute miles (haversine; good to a fraction of a mile at
    /// the distances that matter for routing).
    pub fn miles_to(&self, other: &ZipInfo) -> f64 {
        let (lat1, lat2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.longitude - self.longitude).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_MILES * a.sqrt().asin()
    }
}

/// The ZIP directory, indexed by the ZIP's number so that a lookup is one array access.
#[derive(Debug)]
pub struct ZipDirectory {
    entries: Vec<ZipInfo>,
    /// `slot[zip] = index + 1` into `entries`, 0 when the ZIP is unknown.
    slot: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ZIP directory line {line}: {reason}")]
pub struct ZipDirectoryError {
    pub line: usize,
    pub reason: String,
}

impl ZipDirectory {
    /// The directory shipped in `data/zip_codes.csv`, parsed on first use.
    pub fn bundled() -> &'static ZipDirectory {
        static DIR: OnceLock<ZipDirectory> = OnceLock::new();
        DIR.get_or_init(|| Self::parse(ZIP_DIRECTORY_CSV).expect("data/zip_codes.csv is valid"))
    }

    /// Parses the directory format `zip,city,state,county,latitude,longitude,time_zone`.
    pub fn parse(csv: &'static str) -> Result<Self, ZipDirectoryError> {
        let mut entries = Vec::with_capacity(42_000);
        let mut slot = vec![0u32; 100_000];
        for (i, line) in csv.lines().enumerate().skip(1) {
            let line_no = i + 1;
            let err = |reason: String| ZipDirectoryError {
                line: line_no,
                reason,
            };
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&'static str> = line.split(',').collect();
            let [zip, city, state, county, lat, lon, tz] = f[..] else {
                return Err(err(format!("expected 7 fields, found {}", f.len())));
            };
            let zip = Zip::parse(zip).map_err(|e| err(e.to_string()))?;
            let state = UsState::parse(state).map_err(|e| err(e.to_string()))?;
            let latitude = lat
                .parse()
                .map_err(|_| err(format!("bad latitude {lat:?}")))?;
            let longitude = lon
                .parse()
                .map_err(|_| err(format!("bad longitude {lon:?}")))?;
            let cell = &mut slot[zip.0 as usize];
            if *cell != 0 {
                return Err(err(format!("ZIP {zip} appears twice")));
            }
            entries.push(ZipInfo {
                zip,
                city,
                state,
                county,
                latitude,
                longitude,
                time_zone: tz,
            });
            *cell = u32::try_from(entries.len()).expect("fewer than 4 billion ZIPs");
        }
        Ok(Self { entries, slot })
    }

    pub fn get(&self, zip: Zip) -> Option<&ZipInfo> {
        match self.slot[zip.0 as usize] {
            0 => None,
            n => Some(&self.entries[n as usize - 1]),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ZipInfo> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_table_has_all_states_dc_and_territories() {
        assert_eq!(states().len(), 59);
        assert_eq!(UsState::parse("tx").unwrap().info().name, "Texas");
        assert!(UsState::parse("ZZ").is_err());
    }

    #[test]
    fn zip_syntax() {
        assert_eq!(Zip::parse("00501").unwrap().to_string(), "00501");
        assert_eq!(Zip::parse("48371-1234").unwrap().to_string(), "48371");
        for bad in ["4837", "483711", "48a71", "48371-12", ""] {
            assert!(Zip::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bundled_directory_is_complete_and_consistent() {
        let dir = ZipDirectory::bundled();
        assert!(dir.len() > 41_000, "{}", dir.len());
        for z in dir.iter() {
            assert!(
                jiff::tz::TimeZone::get(z.time_zone).is_ok(),
                "{} has time zone {}",
                z.zip,
                z.time_zone
            );
            assert!(
                (-90.0..=90.0).contains(&z.latitude) && (-180.0..=180.0).contains(&z.longitude)
            );
        }
        let oxford = dir.get(Zip::parse("48371").unwrap()).unwrap();
        assert_eq!((oxford.city, oxford.state.code()), ("Oxford", "MI"));
        assert_eq!(oxford.time_zone, "America/Detroit");
        assert!(dir.get(Zip::parse("00000").unwrap()).is_none());
    }

    #[test]
    fn distances_are_in_miles() {
        let dir = ZipDirectory::bundled();
        let dallas = dir.get(Zip::parse("75201").unwrap()).unwrap();
        let fort_worth = dir.get(Zip::parse("76102").unwrap()).unwrap();
        let d = dallas.miles_to(fort_worth);
        assert!((28.0..35.0).contains(&d), "{d}");
        assert!(dallas.miles_to(dallas) < 1e-9);
    }
}
