mod access;
mod accounts;
mod at_rest;
mod cli;
mod console;
mod eligibility;
mod fuzz_bodies;
mod generate;
mod http;
mod import_cli;
mod login;
mod nodes;
mod notifications;
mod openapi;
mod passkeys;
mod probes;
mod profile;
mod program_config;
mod race;
mod referrals;
mod routing_facts;
mod support;
mod world;

/// The `hod` binary built for these tests.
pub fn hod() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hod"));
    for (key, _) in std::env::vars() {
        if key.starts_with("HOD_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOD_LOG", "warn");
    cmd.env("HOD_DATA_KEY", hod_test_support::TEST_DATA_KEY);
    cmd
}
