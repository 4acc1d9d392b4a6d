//! `agentdb-server`: the same entry point as `agentdb serve` (both call
//! `agentdb_server::main`), as a binary of this crate so its tests spawn
//! exactly the server they were built with.

#![deny(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: agentdb-server [--config FILE] [--print-config] [--hash-key] [--version]";

fn main() -> ExitCode {
    let mut config = None;
    let mut print_config = false;
    let mut hash_key = false;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--config") => match args.next() {
                Some(path) => config = Some(PathBuf::from(path)),
                None => {
                    eprintln!("error: --config needs a file\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            Some("--print-config") => print_config = true,
            Some("--hash-key") => hash_key = true,
            Some("--version" | "-V") => {
                println!("agentdb-server {} (commit {})", agentdb::VERSION, env!("AGENTDB_BUILD_COMMIT"));
                return ExitCode::SUCCESS;
            }
            Some("--help" | "-h") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("error: unexpected argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    agentdb_server::main(config, print_config, hash_key)
}
