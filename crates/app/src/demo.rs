//! The demo program: today's plan year, the shipped state table, an administrator and a
//! handful of registered agents in several states and languages. Loading it twice changes
//! nothing.
use hod_db::agents::{self, License, LineOfAuthority, NewAgent, Registration};
use hod_db::operators::{self, Role};
use hod_db::reference;
use hod_domain::{Lang, Npn, PlanYear, UsState};

use crate::{App, Result, passwords};

pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "Admin-Demo-47!";
pub const AGENT_PASSWORD: &str = "Agent-Demo-47!";

struct DemoAgent {
    npn: &'static str,
    first: &'static str,
    last: &'static str,
    username: &'static str,
    phone: &'static str,
    zip: &'static str,
    langs: &'static [&'static str],
    states: &'static [&'static str],
}

const AGENTS: &[DemoAgent] = &[
    DemoAgent {
        npn: "17001001",
        first: "Maria",
        last: "Garcia",
        username: "maria.garcia",
        phone: "+17135550101",
        zip: "77002",
        langs: &["en", "es"],
        states: &["TX", "FL"],
    },
    DemoAgent {
        npn: "17001002",
        first: "James",
        last: "Carter",
        username: "james.carter",
        phone: "+13055550102",
        zip: "33130",
        langs: &["en"],
        states: &["FL", "AL"],
    },
    DemoAgent {
        npn: "17001003",
        first: "Lan",
        last: "Nguyen",
        username: "lan.nguyen",
        phone: "+12145550103",
        zip: "75201",
        langs: &["en", "vi"],
        states: &["TX"],
    },
    DemoAgent {
        npn: "17001004",
        first: "Ahmed",
        last: "Hassan",
        username: "ahmed.hassan",
        phone: "+12485550104",
        zip: "48371",
        langs: &["en", "ar"],
        states: &["MI", "OH"],
    },
    DemoAgent {
        npn: "17001005",
        first: "Sofia",
        last: "Ramirez",
        username: "sofia.ramirez",
        phone: "+16025550105",
        zip: "85004",
        langs: &["en", "es"],
        states: &["AZ", "UT"],
    },
    DemoAgent {
        npn: "17001006",
        first: "Robert",
        last: "Johnson",
        username: "robert.johnson",
        phone: "+17045550106",
        zip: "28202",
        langs: &["en"],
        states: &["NC", "SC"],
    },
];

/// What `hod demo` prints so that a person can log in.
#[derive(Debug, Clone)]
pub struct DemoLogins {
    pub admin: (String, String),
    pub agents: Vec<DemoAgentLogin>,
    pub plan_year: PlanYear,
}

#[derive(Debug, Clone)]
pub struct DemoAgentLogin {
    pub username: String,
    pub password: String,
    pub name: String,
    pub states: Vec<String>,
    pub languages: Vec<String>,
}

impl App {
    pub async fn load_demo(&self) -> Result<DemoLogins> {
        let now = self.now();
        let today = self.today();
        let years = reference::plan_years(&self.db).await?;
        let plan_year = match PlanYear::find(&years, today) {
            Some(py) => *py,
            None => {
                let py = PlanYear::standard_for(today);
                reference::put_plan_year(&self.db, &py).await?;
                py
            }
        };

        if operators::find_by_username(&self.db, ADMIN_USERNAME)
            .await?
            .is_none()
        {
            self.create_operator(
                ADMIN_USERNAME,
                "admin@demo.invalid",
                ADMIN_PASSWORD,
                Role::Admin,
            )
            .await?;
        }

        let health = LineOfAuthority {
            loa: "Accident & Health or Sickness".into(),
            loa_code: "14".into(),
            active: true,
            status_date: None,
        };
        let mut logins = Vec::new();
        for a in AGENTS {
            let npn = Npn::parse(a.npn).expect("demo NPNs are valid");
            let email = format!("{}@demo.invalid", a.username);
            let states: Vec<UsState> = a
                .states
                .iter()
                .map(|s| UsState::parse(s).expect("demo states are valid"))
                .collect();
            let langs: Vec<Lang> = a
                .langs
                .iter()
                .map(|l| Lang::parse(l).expect("demo languages are valid"))
                .collect();
            let existing = agents::find_by_npn(&self.db, &npn).await?;
            let password_hash = match &existing {
                Some(row) if row.registered_at.is_some() => None,
                _ => Some(passwords::hash(AGENT_PASSWORD)?),
            };
            let licenses: Vec<License> = states
                .iter()
                .enumerate()
                .map(|(i, s)| License {
                    state: *s,
                    license_number: format!("{}{:02}", a.npn, i + 1),
                    license_class: "Insurance Producer".into(),
                    resident: i == 0,
                    active: true,
                    expires_on: Some(plan_year.ends_on.saturating_add(jiff::Span::new().years(2))),
                    loas: vec![health.clone()],
                })
                .collect();

            let mut tx = self.db.begin().await?;
            let id = agents::upsert(
                &mut tx,
                &NewAgent {
                    npn: &npn,
                    first_name: a.first,
                    last_name: a.last,
                    email: &email,
                },
                now,
            )
            .await?;
            if let Some(hash) = &password_hash {
                let reg = Registration {
                    username: a.username,
                    password_hash: hash,
                    phone: a.phone,
                    contact_method: "email_text_app",
                    zip: a.zip,
                };
                agents::register(&mut tx, id, &reg, now).await?;
            }
            agents::set_languages(&mut tx, id, &langs).await?;
            agents::set_state_preferences(&mut tx, id, &states).await?;
            agents::replace_licenses(&mut tx, &npn, &licenses).await?;
            tx.commit().await?;

            logins.push(DemoAgentLogin {
                username: a.username.into(),
                password: AGENT_PASSWORD.into(),
                name: format!("{} {}", a.first, a.last),
                states: a.states.iter().map(|s| (*s).to_owned()).collect(),
                languages: a.langs.iter().map(|l| (*l).to_owned()).collect(),
            });
        }
        Ok(DemoLogins {
            admin: (ADMIN_USERNAME.into(), ADMIN_PASSWORD.into()),
            agents: logins,
            plan_year,
        })
    }
}
